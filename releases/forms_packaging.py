"""Forms of the packaging pages. They parse input; ``releases.packaging`` decides."""

from django import forms
from django.core.exceptions import ValidationError

from releasemgr.forms import BootstrapFormMixin
from releases.models import Release, Service
from releases.models.packaging import ArtifactKind, MigrationDelivery, MigrationPhase


class ModuleErrorsMixin:
    def add_module_errors(self, exc: ValidationError) -> None:
        """Each message on the field it is about (or on the form)."""
        for field, messages in exc.message_dict.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class ArtifactForm(ModuleErrorsMixin, BootstrapFormMixin, forms.Form):
    release = forms.ModelChoiceField(
        queryset=Release.objects.order_by("-created"),
        to_field_name="key",
        error_messages={"invalid_choice": "Unknown release; pick one from the list."},
    )
    service = forms.ModelChoiceField(queryset=Service.objects.order_by("name"))
    kind = forms.ChoiceField(choices=ArtifactKind.choices)
    name = forms.CharField(max_length=200)
    version = forms.CharField(max_length=50)
    sha256 = forms.CharField(
        label="SHA-256",
        max_length=200,
        required=False,
        help_text="64 hexadecimal characters.",
    )
    uri = forms.CharField(max_length=500, required=False, label="URI")
    content = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="Manifest or configuration content: environment-specific values are flagged, "
        "secrets refused (store a reference such as vault:path).",
    )


class MigrationPlanForm(ModuleErrorsMixin, BootstrapFormMixin, forms.Form):
    backward_compatible = forms.BooleanField(
        required=False, help_text="The running version keeps working against the new schema."
    )
    phase = forms.ChoiceField(choices=MigrationPhase.choices)
    delivery = forms.ChoiceField(choices=MigrationDelivery.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
