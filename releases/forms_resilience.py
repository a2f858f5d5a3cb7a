"""Forms of the rollback-step and DR-test pages. They parse input; the decision modules decide."""

from django import forms

from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.models import DrResult, Service


class DomainErrorsMixin:
    def add_domain_errors(self, exc) -> None:
        for reason in exc.reasons or []:
            name = (reason.data or {}).get("field")
            self.add_error(name if name in self.fields else None, reason.message)
        if not exc.reasons:
            self.add_error(None, exc.message)


class RollbackStepForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.none(), empty_label=None)
    position = forms.IntegerField(min_value=1, required=False, help_text="Empty: last.")
    description = forms.CharField(max_length=500, required=False)
    estimated_minutes = forms.IntegerField(required=False, label="Estimated minutes")

    def __init__(self, *args, release=None, **kwargs):
        super().__init__(*args, **kwargs)
        if release is not None:
            self.fields["service"].queryset = Service.objects.filter(
                release_links__release=release
            ).order_by("name")


class DrTestForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"), to_field_name="slug", empty_label="Choose…"
    )
    tested_at = forms.DateTimeField(widget=DateTimeInput(), label="Tested at")
    scenario = forms.CharField(max_length=200, required=False)
    what_was_tested = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    result = forms.ChoiceField(choices=DrResult.choices)
    rto_target_minutes = forms.IntegerField(
        required=False, label="RTO target (min)", help_text="Empty: the service's recovery SLA."
    )
    rto_achieved_minutes = forms.IntegerField(required=False, label="RTO achieved (min)")
    rpo_target_minutes = forms.IntegerField(required=False, label="RPO target (min)")
    rpo_achieved_minutes = forms.IntegerField(required=False, label="RPO achieved (min)")
    evidence_link = forms.CharField(max_length=500, required=False)
