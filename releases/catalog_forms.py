"""Forms for the service catalog pages. Rules stay on the models (``clean``, constraints)."""

from django import forms
from django.contrib.auth import get_user_model

from governance.choices import Touches
from releasemgr.forms import BootstrapFormMixin
from releases.models import Service, ServiceDependency, Team

User = get_user_model()

# Path segments used by the catalog's own URLs (``services/new/``), so not usable as slugs.
RESERVED_SLUGS = frozenset({"new"})


class ChangeReasonMixin(forms.Form):
    """An optional "why" that ends up on the history row of the change."""

    change_reason = forms.CharField(
        required=False,
        max_length=100,
        label="Reason for the change",
        help_text="Optional; recorded in the history.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if instance is None or instance.pk is None:
            del self.fields["change_reason"]  # a new object's history row says "Created"


def check_slug(slug: str) -> str:
    if slug in RESERVED_SLUGS:
        raise forms.ValidationError(f"“{slug}” is reserved; choose another slug.")
    return slug


def _users():
    return User.objects.filter(is_active=True).order_by("username")


class UserMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        full = obj.get_full_name()
        return f"{obj.get_username()} ({full})" if full else obj.get_username()


class TeamForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    members = UserMultipleChoiceField(
        queryset=_users(), required=False, widget=forms.SelectMultiple(attrs={"size": 8})
    )

    class Meta:
        model = Team
        fields = ["slug", "name", "description", "members"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_slug(self):
        return check_slug(self.cleaned_data["slug"])


class ServiceForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(),
        error_messages={"invalid_choice": "Choose one of the existing teams."},
    )
    owners = UserMultipleChoiceField(
        queryset=_users(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="People to ask about this service.",
    )
    sensitive_areas = forms.MultipleChoiceField(
        choices=Touches.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the service implements; every release shipping it touches these areas "
        "and needs the matching sign-offs.",
    )

    class Meta:
        model = Service
        fields = [
            "slug",
            "name",
            "team",
            "description",
            "tier",
            "customer_facing",
            "ha_required",
            "recovery_sla_minutes",
            "risk_profile",
            "sensitive_areas",
            "owners",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"recovery_sla_minutes": "Recovery SLA (minutes)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Checkboxes, not one form control (BootstrapFormMixin styled the list as one).
        self.fields["sensitive_areas"].widget.attrs["class"] = "form-check-input"

    def clean_slug(self):
        return check_slug(self.cleaned_data["slug"])


class _OwnOptionDisabledSelect(forms.Select):
    """A select whose option for the service being edited is shown but cannot be picked."""

    disabled_value: str | None = None

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        if value != "" and str(value) == self.disabled_value:
            option["attrs"]["disabled"] = True
        return option


class DependencyForm(BootstrapFormMixin, forms.ModelForm):
    """``service`` depends on the chosen service; the service is fixed by the page."""

    depends_on = forms.ModelChoiceField(
        queryset=Service.objects.select_related("team"),
        label="Depends on",
        widget=_OwnOptionDisabledSelect,
        empty_label="Choose a service…",
        error_messages={"invalid_choice": "Choose one of the services in the catalog."},
    )

    class Meta:
        model = ServiceDependency
        fields = ["depends_on", "kind", "version_constraint"]

    def __init__(self, *args, service: Service, **kwargs):
        # The instance must know its service before validation (which may run in __init__).
        kwargs.setdefault("instance", ServiceDependency(service=service))
        super().__init__(*args, **kwargs)
        self.fields["depends_on"].widget.disabled_value = str(service.pk)
        self.fields["version_constraint"].widget.attrs.setdefault("placeholder", ">=2.1,<3")

    def clean(self):
        cleaned = super().clean()
        target = cleaned.get("depends_on")
        service = self.instance.service
        if (
            target is not None
            and target.pk != service.pk
            and ServiceDependency.objects.filter(service=service, depends_on=target).exists()
        ):
            self.add_error("depends_on", f"{service} already depends on {target}.")
        return cleaned

    def validate_unique(self):
        # ``service`` is not a form field, so ModelForm would skip the constraints
        # naming it; check them all (the model's rules, not a copy of them).
        try:
            self.instance.validate_constraints(exclude=set(self.errors))
        except forms.ValidationError as exc:
            self._update_errors(exc)
