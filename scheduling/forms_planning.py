"""Forms of the planning pages: schedule check, re-plan, deadlines, vendor deliverables,
go-live rules. The rules live in ``scheduling.schedule_check``, ``scheduling.vendors`` and
the models; these forms only read input."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.catalog_forms import ChangeReasonMixin
from releases.choices import ReleaseState
from releases.models import Release, Service
from scheduling.models import GoLiveRule, Region, VendorDeliverable
from scheduling.vendors import REASON_MAX


def _zone_help(form, *names):
    zone = timezone.get_current_timezone_name()
    for name in names:
        form.fields[name].help_text = f"Time zone: {zone}."


class RegionChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Region.objects.order_by("rollout_order", "code"))
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("required", False)
        kwargs.setdefault("empty_label", "Whole rollout")
        super().__init__(**kwargs)

    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.code})"


class ScheduleCheckForm(BootstrapFormMixin, forms.Form):
    """ "Check a date": a period (and a region) to validate against the calendar."""

    start = forms.DateTimeField(widget=DateTimeInput())
    end = forms.DateTimeField(widget=DateTimeInput())
    region = RegionChoiceField(help_text="Check one region only, or the whole rollout.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _zone_help(self, "start", "end")

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end <= start:
            self.add_error("end", "The end must be after the start.")
        return data


class ApplySlotForm(forms.Form):
    """The proposal the user accepts (hidden fields of the "Apply" button)."""

    start = forms.DateTimeField()
    end = forms.DateTimeField()
    why = forms.CharField(required=False, max_length=200)
    region = RegionChoiceField()


class DeadlinesForm(BootstrapFormMixin, forms.ModelForm):
    """The business deadline and the compliance (audit) deadline of a release."""

    change_reason = forms.CharField(
        max_length=80,
        label="Reason for the change",
        help_text="Required when a date changes; recorded in the history.",
        required=False,
    )

    class Meta:
        model = Release
        fields = ["deadline", "compliance_deadline"]
        widgets = {"deadline": DateTimeInput(), "compliance_deadline": DateTimeInput()}

    def clean(self):
        data = super().clean()
        dates_changed = set(self.changed_data) - {"change_reason"}
        if dates_changed and not (data.get("change_reason") or "").strip():
            self.add_error("change_reason", "Say why the deadline changes.")
        return data


class VendorDeliverableForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    class Meta:
        model = VendorDeliverable
        fields = ["vendor", "description", "expected_at", "buffer_hours"]
        widgets = {"expected_at": DateTimeInput()}
        labels = {"expected_at": "Expected delivery", "buffer_hours": "Buffer (hours)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _zone_help(self, "expected_at")
        self.fields[
            "buffer_hours"
        ].help_text = (
            "Time needed after delivery (integration, testing) before the release can ship."
        )

    def clean(self):
        data = super().clean()
        moved = {"expected_at", "buffer_hours"} & set(self.changed_data)
        if self.instance.pk and moved and not (data.get("change_reason") or "").strip():
            self.add_error(
                "change_reason",
                "Say why the date changes (or use “Mark late” when the vendor slips).",
            )
        return data


class MarkLateForm(BootstrapFormMixin, forms.Form):
    expected_at = forms.DateTimeField(label="New expected delivery", widget=DateTimeInput())
    reason = forms.CharField(
        max_length=REASON_MAX,
        help_text="Why the vendor is late; recorded in the history of the deliverable and the "
        "release.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _zone_help(self, "expected_at")


class MarkDeliveredForm(BootstrapFormMixin, forms.Form):
    delivered_at = forms.DateTimeField(
        required=False, widget=DateTimeInput(), help_text="Leave empty for now."
    )
    note = forms.CharField(required=False, max_length=REASON_MAX)


class ReleaseByKeyField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.key} {obj.name}"


class GoLiveRuleForm(BootstrapFormMixin, ChangeReasonMixin, forms.ModelForm):
    region = forms.ModelChoiceField(
        queryset=Region.objects.order_by("rollout_order", "code"),
        to_field_name="code",
        empty_label="Choose a region",
    )
    release = ReleaseByKeyField(
        queryset=Release.objects.exclude(
            state__in=[ReleaseState.CLOSED, ReleaseState.CANCELLED]
        ).order_by("-created"),
        to_field_name="key",
        required=False,
        empty_label="No release (a service rule)",
        help_text="The rule holds back this release…",
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="No service (a release rule)",
        help_text="…or every release of this service. Name one of them.",
    )

    class Meta:
        model = GoLiveRule
        fields = ["region", "release", "service", "earliest_at", "legal_basis"]
        widgets = {"earliest_at": DateTimeInput()}
        labels = {"earliest_at": "Earliest go-live"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _zone_help(self, "earliest_at")
        self.fields[
            "legal_basis"
        ].help_text = (
            "The requirement that imposes the date, e.g. “BaFin notification period (§ 25b KWG)”."
        )
