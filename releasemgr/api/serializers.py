from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers


class ValidatedModelSerializer(serializers.ModelSerializer):
    """Validates with the model's own ``clean_fields``/``clean``, never a second copy of the rules.

    Fields listed in ``Meta.skip_model_validation`` (nested or many-to-many
    writes) are popped before the model is checked.
    """

    def validate(self, attrs):
        attrs = super().validate(attrs)
        skip = set(getattr(self.Meta, "skip_model_validation", ()))
        model = self.Meta.model
        concrete = {f.name for f in model._meta.concrete_fields}
        values = {k: v for k, v in attrs.items() if k not in skip and k in concrete}
        if self.instance is not None:
            instance = model(
                **{
                    f.attname: getattr(self.instance, f.attname)
                    for f in model._meta.concrete_fields
                }
            )
        else:
            instance = model()
        for key, value in values.items():
            setattr(instance, key, value)
        checked = set(values) if self.instance is None else concrete
        exclude = [f.name for f in model._meta.fields if f.name not in checked]
        try:
            instance.clean_fields(exclude=exclude)
            instance.clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict
                if hasattr(exc, "error_dict")
                else {"non_field_errors": exc.messages}
            ) from exc
        return attrs


class UsernameField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        from django.contrib.auth import get_user_model

        kwargs.setdefault("slug_field", "username")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", get_user_model().objects.all())
        super().__init__(**kwargs)
