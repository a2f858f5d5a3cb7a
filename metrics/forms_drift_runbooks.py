"""Forms of the drift and runbook pages. They parse input; ``metrics.drift`` and
``metrics.runbooks`` decide."""

from django import forms

from metrics.models.runbooks import RunbookVersion
from releasemgr.decisions import DomainError
from releasemgr.forms import BootstrapFormMixin
from releases.models import Service


class DomainErrorsMixin:
    def add_domain_errors(self, exc: DomainError) -> None:
        """Each of the decision's reasons on the field it is about (or on the form)."""
        for reason in exc.reasons or []:
            field = (reason.data or {}).get("field")
            self.add_error(field if field in self.fields else None, reason.message)
        if not exc.reasons:
            self.add_error(None, exc.message)


class ReconcileForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=[("accept", "Accept as the new baseline"), ("fix", "Mark to fix")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose: accept as the new baseline, or mark to fix."},
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="Kept in the item's history.",
        error_messages={"required": "Say why."},
    )


class RunbookForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        error_messages={"invalid_choice": "Unknown service; pick one from the list."},
    )
    title = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=100, help_text="Used in links, e.g. payments-api-failover.")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "class": "font-monospace"}),
        label="Text (Markdown)",
    )


class RunbookVersionForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 18, "class": "font-monospace"}),
        label="Text (Markdown)",
    )
    summary = forms.CharField(max_length=300, label="What changed")


class LinkRunbookForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    service = forms.ModelChoiceField(queryset=Service.objects.all(), to_field_name="slug")
    version = forms.ModelChoiceField(
        queryset=RunbookVersion.objects.all(),
        required=False,
        help_text="Empty: unlink.",
        error_messages={"invalid_choice": "Unknown runbook version; pick one from the list."},
    )
