"""Forms of the packaging pages. They parse input; ``releases.packaging`` decides."""

import json

from django import forms
from django.core.exceptions import ValidationError

from releasemgr.forms import BootstrapFormMixin
from releases import packaging
from releases.models import Release, Service
from releases.models.packaging import ArtifactKind, MigrationDelivery, MigrationPhase
from scheduling.models import Environment


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


def values_as_text(values: dict) -> str:
    """``key=value`` lines for the editor; non-text values as JSON (``6``, ``true``)."""
    return "\n".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in (values or {}).items()
    )


class ConfigSetForm(ModuleErrorsMixin, BootstrapFormMixin, forms.Form):
    """A configuration set with its settings as ``key=value`` lines."""

    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"), to_field_name="slug", empty_label="Choose…"
    )
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.order_by("order"), to_field_name="slug", empty_label="Choose…"
    )
    version = forms.CharField(max_length=50, help_text="e.g. 3 or 1.2.0.")
    values = forms.CharField(
        label="Settings",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "class": "font-monospace", "spellcheck": "false"}),
        help_text="One <code>key=value</code> per line; lines starting with # are ignored. "
        "Secrets are refused: give a reference such as <code>vault:payments/db</code>.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, original: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The stored values, so an unchanged number or flag keeps its type.
        self.original = original or {}

    def clean_values(self) -> dict:
        text = self.cleaned_data.get("values") or ""
        values: dict = {}
        lines: dict[str, int] = {}
        errors: list[str] = []
        secret_lines: set[int] = set()
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = (part.strip() for part in line.partition("="))
            if not sep:
                errors.append(f"Line {number}: write key=value.")
            elif not key:
                errors.append(f"Line {number}: the key before '=' is missing.")
            elif key in lines:
                errors.append(f"Line {number}: '{key}' is already set on line {lines[key]}.")
            else:
                lines[key] = number
                refused = packaging.config_secret_errors({key: value})
                errors.extend(f"Line {number}: {message}" for message in refused)
                if refused:
                    secret_lines.add(number)
                values[key] = self._typed(key, value)
        if secret_lines:
            self._forget_secrets(text, secret_lines)
        if errors:
            raise ValidationError(errors)
        return values

    def _typed(self, key: str, text: str):
        before = self.original.get(key)
        if before is not None and values_as_text({key: before}) == f"{key}={text}":
            return before
        return text

    def _forget_secrets(self, text: str, numbers: set[int]) -> None:
        """The form is shown again without the refused values: a secret is never echoed."""
        kept = [
            line.partition("=")[0].rstrip() + "=" if number in numbers else line
            for number, line in enumerate(text.splitlines(), start=1)
        ]
        self.data = self.data.copy()
        self.data[self.add_prefix("values")] = "\n".join(kept)


class CompensatingScriptForm(ModuleErrorsMixin, BootstrapFormMixin, forms.Form):
    """The script that undoes a DB migration: its text, or where it is stored and its checksum."""

    script = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "class": "font-monospace", "spellcheck": "false"}),
        required=False,
        help_text="The SQL or commands that undo the migration. Its SHA-256 is computed.",
    )
    uri = forms.CharField(
        max_length=500,
        required=False,
        label="URI",
        help_text="Where the script is stored, when it is not given as text.",
    )
    sha256 = forms.CharField(
        label="SHA-256",
        max_length=200,
        required=False,
        help_text="Required with a URI: 64 hexadecimal characters.",
    )
    tested = forms.BooleanField(required=False, label="Tested against a copy of production data")
