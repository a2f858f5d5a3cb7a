"""Forms of the register pages: an entry (create/edit) and a status change with its note."""

from django import forms
from django.contrib.auth import get_user_model

from governance.choices import RegisterStatus
from governance.models import RegisterEntry
from releasemgr.decisions import DomainError
from releasemgr.forms import BootstrapFormMixin
from releases.models import Release, Service


class ReleaseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.key} {obj.name} ({obj.get_state_display().lower()})"


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        full = obj.get_full_name()
        return f"{obj.get_username()} ({full})" if full else obj.get_username()


class RegisterEntryForm(BootstrapFormMixin, forms.ModelForm):
    """Parses an entry; the model's ``clean`` (release or service) and ``governance.register``
    decide the rest."""

    release = ReleaseChoiceField(
        queryset=Release.objects.order_by("-created"),
        to_field_name="key",
        required=False,
        empty_label="No release",
        help_text="The release that brings the risk or carries the known error.",
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="No service",
        help_text="The service affected. Link a release, a service, or both.",
    )
    owner = UserChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        help_text="Who follows it up.",
    )

    class Meta:
        model = RegisterEntry
        fields = [
            "kind",
            "title",
            "description",
            "impact",
            "workaround",
            "release",
            "service",
            "owner",
            "reference",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "impact": forms.Textarea(attrs={"rows": 2}),
            "workaround": forms.Textarea(attrs={"rows": 2}),
        }

    def add_domain_errors(self, exc: DomainError) -> None:
        for reason in exc.reasons or []:
            field = (reason.data or {}).get("field")
            self.add_error(field if field in self.fields else None, reason.message)
        if not exc.reasons:
            self.add_error(None, exc.message)


class StatusForm(BootstrapFormMixin, forms.Form):
    status = forms.ChoiceField(choices=RegisterStatus.choices)
    note = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: the mitigation in place, the acceptance rationale, or why it is closed.",
        error_messages={"required": "Say why the status changes."},
    )

    def __init__(self, *args, choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if choices is not None:
            self.fields["status"].choices = [(c, RegisterStatus(c).label) for c in choices]
