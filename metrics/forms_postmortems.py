"""Forms of the post-mortem and checklist pages. They parse input; ``metrics.postmortems``,
``metrics.checklists`` and ``metrics.checklist_refinement`` decide."""

from django import forms
from django.contrib.auth import get_user_model

from metrics.forms_drift_runbooks import DomainErrorsMixin
from metrics.models.postmortems import FactorCategory, PostMortemStatus
from releasemgr.forms import BootstrapFormMixin, DateTimeInput


def _users():
    return get_user_model().objects.filter(is_active=True).order_by("username")


class PostMortemForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    facilitator = forms.ModelChoiceField(
        queryset=_users(), to_field_name="username", required=False
    )


class TimelineForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    at = forms.DateTimeField(widget=DateTimeInput(), label="When")
    description = forms.CharField(max_length=2000, label="What happened")


class FactorForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    category = forms.ChoiceField(choices=FactorCategory.choices)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The condition of the system, not a person: e.g. 'No staging data as large "
        "as production'.",
    )
    tags = forms.CharField(
        required=False, help_text="Short slugs separated by commas, e.g. db-migration, load."
    )


class ActionForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    description = forms.CharField(max_length=2000)
    owner = forms.ModelChoiceField(
        queryset=_users(),
        to_field_name="username",
        error_messages={"required": "Every action needs an owner: choose who will do it."},
    )
    due_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"required": "Give the action a due date."},
    )


class StatusForm(BootstrapFormMixin, forms.Form):
    status = forms.ChoiceField(choices=PostMortemStatus.choices)


class AcceptForm(BootstrapFormMixin, forms.Form):
    keys = forms.MultipleChoiceField(
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one proposal to accept."},
    )

    def __init__(self, *args, keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keys"].choices = [(k, k) for k in keys]
