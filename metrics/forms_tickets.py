"""Forms of the ticket triage pages. They parse input; ``metrics.triage`` decides."""

from django import forms

from metrics.models import TicketClassification
from releasemgr.decisions import DomainError
from releasemgr.forms import BootstrapFormMixin
from releases.models import Release

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class DomainErrorsMixin:
    def add_domain_errors(self, exc: DomainError) -> None:
        """Each of the decision's reasons on the field it is about (or on the form)."""
        for reason in exc.reasons or []:
            field = (reason.data or {}).get("field")
            self.add_error(field if field in self.fields else None, reason.message)
        if not exc.reasons:
            self.add_error(None, exc.message)


class TicketImportForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: <code>external_id, service, opened_at, subject, text, rating</code> "
        "(text and rating may be empty; opened_at as 2026-11-20T14:05:00Z). A file with a bad "
        "row or an already imported ticket is refused whole.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB; split it.")
        return upload


class OverrideForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    classification = forms.ChoiceField(choices=TicketClassification.choices)
    release = forms.ModelChoiceField(
        queryset=Release.objects.order_by("-created"),
        to_field_name="key",
        required=False,
        empty_label="The release triage found",
        help_text="Only for release-related: the release that caused it.",
        error_messages={"invalid_choice": "Unknown release; pick one from the list."},
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
        help_text="Required: why the triage was wrong (kept in the history).",
    )
