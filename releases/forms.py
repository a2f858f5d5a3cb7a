"""Forms of the releases web UI. Rules live in the models and decision modules, not here."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from governance.choices import Touches
from governance.models import ChangeModel
from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.choices import DeploymentStrategy, EventType
from releases.lifecycle import TERMINAL_EVENTS
from releases.models import Release, ScopeItem, Service
from releases.validators import validate_version
from scheduling.models import Environment, Region

User = get_user_model()


def _users():
    return User.objects.filter(is_active=True).order_by("username")


class ReleaseForm(BootstrapFormMixin, forms.ModelForm):
    """The plan of a release. ``Release.clean`` (via the ModelForm's full_clean) checks the window."""

    class Meta:
        model = Release
        fields = [
            "name",
            "version",
            "kind",
            "change_type",
            "planned_start",
            "planned_end",
            "owner",
            "description",
            "rollback_plan",
            "rollback_tested",
            "change_model",
            "touches",
            "planned_strategy",
        ]
        widgets = {
            "planned_start": DateTimeInput(),
            "planned_end": DateTimeInput(),
            "description": forms.Textarea(attrs={"rows": 4}),
            "rollback_plan": forms.Textarea(attrs={"rows": 3}),
        }

    touches = forms.MultipleChoiceField(
        choices=Touches.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Touches",
        help_text="Sensitive areas this release changes; the approval policy asks for the "
        "matching sign-offs (the shipped services' own areas count too).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Checkboxes, not form controls (BootstrapFormMixin styled the list as one).
        self.fields["touches"].widget.attrs["class"] = "form-check-input"
        self.fields["change_model"].queryset = ChangeModel.objects.filter(active=True).order_by(
            "name"
        )
        if self.instance.change_model_id:  # a withdrawn model stays visible on its releases
            self.fields["change_model"].queryset = ChangeModel.objects.filter(
                Q(active=True) | Q(pk=self.instance.change_model_id)
            ).order_by("name")
        self.fields["change_model"].empty_label = "None (not a standard change)"
        self.fields[
            "change_model"
        ].help_text = "Standard changes only: the pre-approved change model this release follows."
        self.fields["change_model"].error_messages["invalid_choice"] = (
            "Pick an active change model from the catalogue."
        )
        # Optional so scripts and older forms that do not send it keep the current strategy.
        self.fields["planned_strategy"].required = False
        self.fields["owner"].queryset = _users()
        self.fields["owner"].help_text = "Who is accountable for this release (defaults to you)."
        zone = timezone.get_current_timezone_name()
        for name in ("planned_start", "planned_end"):
            self.fields[name].help_text = f"Time zone: {zone}."
        self.fields["version"].help_text = "e.g. 1.4.2, 2.0.0-rc.1 or v3.1"
        self.fields["rollback_plan"].help_text = "How to undo the change if it fails in production."

    def clean_planned_strategy(self):
        return (
            self.cleaned_data.get("planned_strategy")
            or self.instance.planned_strategy
            or DeploymentStrategy.ROLLING
        )


class ReleaseServiceRowForm(BootstrapFormMixin, forms.Form):
    """One service the release ships, at the version it brings it to."""

    service = forms.ModelChoiceField(
        queryset=Service.objects.select_related("team").order_by("name"),
        to_field_name="slug",
        error_messages={"invalid_choice": "Unknown service; pick one from the catalog."},
    )
    version = forms.CharField(max_length=50, validators=[validate_version])


class BaseReleaseServiceFormSet(forms.BaseFormSet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One query for the service choices, shared by every row.
        choices = list(self.form.base_fields["service"].choices)
        for form in self.forms + [self.empty_form]:
            form.fields["service"].choices = choices

    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["DELETE"].widget.attrs["class"] = "form-check-input"
        form.fields["DELETE"].label = "Remove"

    def clean(self):
        if any(self.errors):
            return
        seen: dict[str, int] = {}
        for index, form in enumerate(self.forms):
            if not form.cleaned_data or self._should_delete_form(form):
                continue
            service = form.cleaned_data.get("service")
            if service is None:
                continue
            if service.slug in seen:
                form.add_error("service", f"{service.name} is already listed in this release.")
            seen[service.slug] = index
        if any(self.errors):
            raise forms.ValidationError("Each service may appear once.")

    def rows(self) -> list[tuple[Service, str]]:
        """(service, version) for each filled row not marked for deletion."""
        out = []
        for form in self.forms:
            # An untouched extra row has empty cleaned_data.
            if not form.cleaned_data or self._should_delete_form(form):
                continue
            data = form.cleaned_data
            if data.get("service"):
                out.append((data["service"], data["version"]))
        return out


ReleaseServiceFormSet = forms.formset_factory(
    ReleaseServiceRowForm,
    formset=BaseReleaseServiceFormSet,
    extra=1,
    can_delete=True,
)


class ScopeItemForm(BootstrapFormMixin, forms.ModelForm):
    """A scope item; ``ScopeItem.clean`` requires a rationale when deferred or removed."""

    class Meta:
        model = ScopeItem
        fields = ["title", "kind", "decision", "rationale", "reference", "service", "contributor"]
        widgets = {"rationale": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.order_by("name")
        self.fields["contributor"].queryset = _users()


class TransitionForm(forms.Form):
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


class StartDeploymentForm(BootstrapFormMixin, forms.Form):
    environment = forms.ModelChoiceField(
        queryset=Environment.objects.order_by("order"),
        to_field_name="slug",
        empty_label="Choose an environment…",
    )
    strategy = forms.ChoiceField(
        choices=DeploymentStrategy.choices, initial=DeploymentStrategy.ROLLING
    )
    region = forms.ModelChoiceField(
        queryset=Region.objects.all(),
        to_field_name="code",
        required=False,
        empty_label="Any region",
    )
    reason = forms.CharField(
        max_length=500,
        required=False,
        help_text="Needed only when a soft window applies: why deploying now is acceptable.",
    )
    pipeline_url = forms.URLField(
        max_length=500, required=False, label="Pipeline URL", assume_scheme="https"
    )
    commit = forms.RegexField(
        r"^[0-9a-fA-F]{7,64}$",
        required=False,
        error_messages={"invalid": "Enter a git commit SHA (7-64 hex digits)."},
    )
    canary_steps = forms.CharField(
        required=False,
        label="Canary steps",
        help_text="Canary only: percent:hold minutes, e.g. 5:30, 25:30, 100:0. Empty: advised.",
    )

    def clean(self):
        from releases import strategy

        data = super().clean()
        return strategy.clean_form_steps(self, data)


class DeploymentEventForm(BootstrapFormMixin, forms.Form):
    """The final result of a deployment, as a person reports it."""

    type = forms.ChoiceField(
        label="Result",
        choices=[(value, label) for value, label in EventType.choices if value in TERMINAL_EVENTS],
    )
    target = forms.CharField(max_length=200, required=False, help_text="Node, pod or region.")
    message = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 2})
    )
