"""Forms of the post-mortem and checklist pages. They parse input; ``metrics.postmortems``,
``metrics.checklists`` and ``metrics.checklist_refinement`` decide."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from metrics.forms_drift_runbooks import DomainErrorsMixin
from metrics.models.postmortems import FactorCategory, PostMortemStatus
from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releasemgr.roles import ALL_ROLES, PIPELINE


def _users():
    """The people an action or a facilitator can be: active users, without the service
    accounts (users whose only role is the pipeline role), which nobody can ask to do
    anything. Someone who is also given a person's role stays (a role is what they do here)."""
    User = get_user_model()
    people_roles = [role for role in ALL_ROLES if role != PIPELINE]
    service_accounts = User.objects.filter(groups__name=PIPELINE).exclude(
        groups__name__in=people_roles
    )
    return (
        User.objects.filter(is_active=True)
        .exclude(pk__in=service_accounts.values("pk"))
        .order_by("username")
    )


class PostMortemForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    facilitator = forms.ModelChoiceField(
        queryset=_users(), to_field_name="username", required=False
    )

    def __init__(self, *args, keep=None, **kwargs):
        """``keep``: the post-mortem's facilitator, offered even if no longer a person one
        would pick (a service account, a deactivated user), so editing the title does not
        silently drop or refuse it."""
        super().__init__(*args, **kwargs)
        if keep is not None:
            field = self.fields["facilitator"]
            field.queryset = (
                get_user_model()
                .objects.filter(Q(pk__in=_users().values("pk")) | Q(pk=keep.pk))
                .order_by("username")
            )


class TimelineForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    at = forms.DateTimeField(widget=DateTimeInput(), label="When")
    description = forms.CharField(max_length=2000, label="What happened")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Typed times are read in the server's time zone, the one the timeline shows (UTC
        # unless TIME_ZONE says otherwise).
        self.fields["at"].help_text = f"Date and time in {settings.TIME_ZONE}."


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
        widget=forms.DateInput(attrs={"type": "date", "class": "input-date"}),
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
