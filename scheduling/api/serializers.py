from rest_framework import serializers

from releasemgr.api.serializers import ValidatedModelSerializer
from releases.models import Service
from scheduling.models import Environment, FreezeWindow


class EnvironmentSerializer(ValidatedModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:environment-detail", lookup_field="slug"
    )

    class Meta:
        model = Environment
        fields = [
            "url",
            "slug",
            "name",
            "order",
            "is_production",
            "description",
            "created",
            "updated",
        ]


class FreezeWindowSerializer(ValidatedModelSerializer):
    services = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Service.objects.all(),
        many=True,
        required=False,
        help_text="Services covered; empty = all services.",
    )
    environments = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Environment.objects.all(),
        many=True,
        required=False,
        help_text="Environments covered; empty = all environments.",
    )
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = FreezeWindow
        fields = [
            "id",
            "name",
            "reason",
            "start",
            "end",
            "services",
            "environments",
            "created_by",
            "created",
            "updated",
        ]
        skip_model_validation = ("services", "environments")

    def create(self, validated_data):
        validated_data["created_by"] = self.context["request"].user
        return super().create(validated_data)
