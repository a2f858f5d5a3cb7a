"""Forms for the change catalogue, retrospectives, the risk configuration and the report.

Rules stay in ``governance.change_types`` / ``governance.risk`` and the models.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model

from governance import risk
from governance.models import ChangeModel
from releasemgr.forms import BootstrapFormMixin
from releases.catalog_forms import ChangeReasonMixin, check_slug
from releases.models import Service, Team


class ChangeModelForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.select_related("team").order_by("name"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="The services this standard change may touch.",
        error_messages={"invalid_choice": "Choose services from the catalog."},
    )
    owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        help_text="Who keeps the procedure up to date.",
    )

    class Meta:
        model = ChangeModel
        fields = [
            "slug",
            "name",
            "description",
            "services",
            "steps",
            "risk_ceiling",
            "active",
            "owner",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "steps": forms.Textarea(attrs={"rows": 6}),
        }

    def clean_slug(self):
        return check_slug(self.cleaned_data["slug"])

    def clean_steps(self):
        steps = [line.strip() for line in self.cleaned_data["steps"].splitlines() if line.strip()]
        if not steps:
            raise forms.ValidationError("Write the approved procedure, one step per line.")
        return "\n".join(steps)


class RetrospectiveForm(BootstrapFormMixin, forms.Form):
    findings = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=8000,
        required=False,  # the decision module says why an empty one is refused
        help_text="What happened, why the emergency route was needed, what was learned.",
    )
    actions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        required=False,
        help_text="Follow-up actions, one per line.",
    )


class RiskConfigForm(BootstrapFormMixin, forms.Form):
    """One weight per factor and the three band thresholds; ``risk.validate_config`` decides."""

    medium_from = forms.IntegerField(label="Medium from", min_value=1, max_value=100)
    high_from = forms.IntegerField(label="High from", min_value=1, max_value=100)
    critical_from = forms.IntegerField(label="Critical from", min_value=1, max_value=100)
    reason = forms.CharField(
        max_length=100, required=False, help_text="Why the change; recorded in the history."
    )

    def __init__(self, *args, config=None, **kwargs):
        if config is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{f"weight_{c}": w for c, w in risk.effective_weights(config).items()},
                "medium_from": config.medium_from,
                "high_from": config.high_from,
                "critical_from": config.critical_from,
            }
        super().__init__(*args, **kwargs)
        for code, label in risk.FACTOR_LABELS.items():
            self.fields[f"weight_{code}"] = forms.IntegerField(
                label=label,
                min_value=0,
                max_value=risk.WEIGHT_TOTAL,
                widget=forms.NumberInput(attrs={"class": "form-control form-control-sm"}),
            )
        self.order_fields(
            [f"weight_{c}" for c in risk.FACTORS]
            + ["medium_from", "high_from", "critical_from", "reason"]
        )

    def weight_fields(self):
        return [self[f"weight_{c}"] for c in risk.FACTORS]

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "weights": {c: data[f"weight_{c}"] for c in risk.FACTORS},
            "medium_from": data["medium_from"],
            "high_from": data["high_from"],
            "critical_from": data["critical_from"],
        }

    def add_validation_error(self, exc) -> None:
        for field, messages in exc.message_dict.items():
            target = field if field in self.fields else None
            for message in messages:
                self.add_error(target, message)


class ReportForm(BootstrapFormMixin, forms.Form):
    since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Created from"
    )
    until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Created before"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="Any",
        error_messages={"invalid_choice": "Unknown team; pick one from the list."},
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="Any",
        error_messages={"invalid_choice": "Unknown service; pick one from the list."},
    )

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", "The end of the period must be after its start.")
        return data
