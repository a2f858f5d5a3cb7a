"""Forms of the CAB pages. They parse input; ``governance.cab`` decides."""

from django import forms
from django.utils import timezone

from governance import cab
from governance.choices import VoteChoice
from governance.models import CabMeeting
from releasemgr.decisions import DomainError
from releasemgr.forms import BootstrapFormMixin, DateTimeInput


class MemberChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        full = obj.get_full_name()
        return f"{full} ({obj.get_username()})" if full else obj.get_username()


class ChairChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        full = obj.get_full_name()
        return f"{full} ({obj.get_username()})" if full else obj.get_username()


class CabMeetingForm(BootstrapFormMixin, forms.ModelForm):
    attendees = MemberChoiceField(
        queryset=cab.members(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="CAB members, compliance officers and product owners (Ctrl or Cmd to pick several). "
        "The chair votes too.",
    )

    class Meta:
        model = CabMeeting
        fields = ["title", "kind", "scheduled_at", "duration_minutes", "location", "chair"]
        widgets = {"scheduled_at": DateTimeInput()}
        field_classes = {"chair": ChairChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["attendees"].initial = list(self.instance.attendees.all())
        self.fields[
            "scheduled_at"
        ].help_text = f"Time zone: {timezone.get_current_timezone_name()}."
        self.fields["chair"].help_text = "Runs the meeting: builds the agenda, defers, closes."
        self.fields["chair"].queryset = cab.chairs()

    def add_domain_errors(self, exc: DomainError) -> None:
        for reason in exc.reasons or []:
            field = (reason.data or {}).get("field")
            self.add_error(field if field in self.fields else None, reason.message)
        if not exc.reasons:
            self.add_error(None, exc.message)


APPROVE_WITH_CONDITIONS = "approve_conditions"


class VoteForm(forms.Form):
    choice = forms.ChoiceField(
        choices=[*VoteChoice.choices, (APPROVE_WITH_CONDITIONS, "Approve with conditions")]
    )
    conditions = forms.CharField(required=False, max_length=2000)
    comment = forms.CharField(required=False, max_length=2000)


class DeferForm(forms.Form):
    reason = forms.CharField(max_length=2000)


class CloseForm(BootstrapFormMixin, forms.Form):
    minutes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14}),
        max_length=20000,
        help_text="Prefilled from the votes and outcomes; edit before closing.",
    )
