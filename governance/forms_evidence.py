"""The evidence pack request form: one release, or a service and a date range."""

from django import forms

from governance.forms_register import ReleaseChoiceField
from releasemgr.decisions import DomainError
from releasemgr.forms import BootstrapFormMixin
from releases.models import Release, Service


class DateInput(forms.DateInput):
    input_type = "date"


class EvidenceRequestForm(BootstrapFormMixin, forms.Form):
    """Parses the request; ``governance.evidence.request_pack`` (the model's rules) decides."""

    release = ReleaseChoiceField(
        queryset=Release.objects.order_by("-created"),
        to_field_name="key",
        required=False,
        empty_label="— a service and dates instead —",
        error_messages={"invalid_choice": "Unknown release; pick one from the list."},
        help_text="Everything about one release.",
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="—",
        help_text="Or every release of a service planned or deployed in the date range.",
    )
    since = forms.DateField(required=False, widget=DateInput(), label="From (UTC date)")
    until = forms.DateField(
        required=False, widget=DateInput(), label="Until (UTC date, not included)"
    )

    def add_domain_errors(self, exc: DomainError) -> None:
        for reason in exc.reasons or []:
            name = (reason.data or {}).get("field")
            self.add_error(name if name in self.fields else None, reason.message)
        if not exc.reasons:
            self.add_error(None, exc.message)
