"""Forms of the incident and integrity pages. They parse input; ``metrics.incidents`` and
``metrics.integrity`` decide."""

from django import forms

from metrics.models.incidents import IncidentSeverity, IncidentStatus, RecoveryChoice
from metrics.models.integrity import IntegrityKind, IntegrityRelation
from releasemgr.decisions import DomainError
from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.models import Deployment, Release, Service


class DomainErrorsMixin:
    def add_domain_errors(self, exc: DomainError) -> None:
        """Each of the decision's reasons on the field it is about (or on the form)."""
        for reason in exc.reasons or []:
            field = (reason.data or {}).get("field")
            self.add_error(field if field in self.fields else None, reason.message)
        if not exc.reasons:
            self.add_error(None, exc.message)


class DeploymentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        finished = f"{obj.finished_at:%Y-%m-%d %H:%M}" if obj.finished_at else "running"
        return f"#{obj.pk} {obj.release.key} → {obj.environment.name} ({obj.status}, {finished})"


class IncidentForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        empty_label="Choose the affected service…",
    )
    title = forms.CharField(max_length=200)
    severity = forms.ChoiceField(choices=IncidentSeverity.choices, initial=IncidentSeverity.HIGH)
    started_at = forms.DateTimeField(widget=DateTimeInput(), label="Started")
    detected_at = forms.DateTimeField(widget=DateTimeInput(), required=False, label="Detected")
    resolved_at = forms.DateTimeField(
        widget=DateTimeInput(), required=False, label="Resolved", help_text="Empty while open."
    )
    release = forms.ModelChoiceField(
        queryset=Release.objects.order_by("-created"),
        to_field_name="key",
        required=False,
        empty_label="Attribute automatically",
        help_text="The release that caused it, if known. Empty: the latest production "
        "deployment of the service in the hours before it started.",
    )
    caused_by = DeploymentChoiceField(
        queryset=Deployment.objects.filter(environment__is_production=True)
        .select_related("release", "environment")
        .order_by("-started_at")[:200],
        required=False,
        empty_label="—",
        label="Caused by deployment",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    external_id = forms.CharField(
        max_length=200, required=False, label="External id", help_text="Its id in your tool."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A sliced queryset cannot be filtered when validating; validate against all.
        self.fields["caused_by"].queryset = Deployment.objects.filter(
            environment__is_production=True
        ).select_related("release", "environment")
        self.fields["caused_by"].widget.choices = self.fields["caused_by"].choices


class StatusForm(BootstrapFormMixin, forms.Form):
    status = forms.ChoiceField(
        choices=[(IncidentStatus.MITIGATED, "Mitigated"), (IncidentStatus.RESOLVED, "Resolved")],
        initial=IncidentStatus.RESOLVED,
    )
    at = forms.DateTimeField(
        widget=DateTimeInput(), required=False, label="At", help_text="Empty: now."
    )
    comment = forms.CharField(max_length=90, required=False)


class DecideForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    choice = forms.ChoiceField(choices=RecoveryChoice.choices, widget=forms.RadioSelect)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        error_messages={"required": "Say why: the people after you will read it."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["choice"].widget.attrs["class"] = "form-check-input"


class IntegrityCheckForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    name = forms.CharField(max_length=120, help_text="e.g. payouts row count")
    kind = forms.ChoiceField(choices=IntegrityKind.choices)
    relation = forms.ChoiceField(choices=IntegrityRelation.choices)
    tolerance_percent = forms.FloatField(
        min_value=0, initial=0, required=False, label="Tolerance %"
    )
    expected_value = forms.CharField(max_length=200, required=False)
    service = forms.ModelChoiceField(queryset=Service.objects.none(), required=False)
    job_name = forms.CharField(max_length=120, required=False, label="Job")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, release=None, **kwargs):
        super().__init__(*args, **kwargs)
        if release is not None:
            self.fields["service"].queryset = release.services.order_by("name")

    def clean_tolerance_percent(self):
        return self.cleaned_data.get("tolerance_percent") or 0


class ResultForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    before_value = forms.CharField(max_length=200, required=False, label="Before")
    after_value = forms.CharField(max_length=200, label="After")
    query_name = forms.CharField(max_length=200, required=False, label="Query")
    query_result = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Query result"
    )
