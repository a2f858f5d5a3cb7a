"""Forms of the policy pages: a rule's conditions, and its approvers as repeated rows."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import Group

from governance.choices import Touches
from governance.models import ApprovalRule
from releasemgr.forms import BootstrapFormMixin
from releases.choices import ChangeType

MAX_APPROVERS_PER_GROUP = 10


class ApprovalRuleForm(BootstrapFormMixin, forms.ModelForm):
    """The rule's conditions; its approvers come from ``ApproverFormSet`` (``approver_rows``)."""

    change_types = forms.MultipleChoiceField(
        choices=ChangeType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every change type.",
    )
    touches = forms.MultipleChoiceField(
        choices=Touches.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Applies if the release touches any of these (its own list, its services' "
        "sensitive areas, its access-control / audit-trail / schema scope items). "
        "None ticked: whatever it touches.",
    )
    customer_facing = forms.NullBooleanField(
        required=False,
        label="Customer-facing",
        widget=forms.NullBooleanSelect(),
    )
    approvers = forms.JSONField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(
        required=False,
        max_length=200,
        label="Why this change",
        help_text="Kept with the new policy version and in the decision log.",
    )

    class Meta:
        model = ApprovalRule
        fields = [
            "name",
            "description",
            "position",
            "active",
            "change_types",
            "min_band",
            "touches",
            "customer_facing",
            "approvers",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        labels = {"min_band": "Risk band at least"}

    def __init__(self, *args, approver_rows=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.approver_rows = approver_rows
        for name in ("change_types", "touches", "active"):
            self.fields[name].widget.attrs["class"] = "form-check-input"
        self.fields["customer_facing"].widget.choices = [
            ("unknown", "Either"),
            ("true", "Only releases shipping a customer-facing service"),
            ("false", "Only releases shipping no customer-facing service"),
        ]
        self.fields["min_band"].choices = [("", "Any band")] + list(
            self.fields["min_band"].choices
        )[1:]

    def clean_approvers(self):
        # The rows come from the formset; the model's clean checks every group exists.
        if self.approver_rows is not None:
            return self.approver_rows
        return self.instance.approvers


class ApproverForm(forms.Form):
    group = forms.ChoiceField(
        required=False,
        error_messages={
            "invalid_choice": "Group '%(value)s' does not exist; choose one of the roles."
        },
    )
    count = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_APPROVERS_PER_GROUP,
        initial=1,
        widget=forms.NumberInput(attrs={"class": "form-control", "style": "max-width: 6rem"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = sorted(Group.objects.values_list("name", flat=True))
        self.fields["group"].choices = [("", "—")] + [(n, n) for n in names]
        self.fields["group"].widget.attrs["class"] = "form-select"

    def clean(self):
        data = super().clean()
        if data.get("group") and not data.get("count"):
            self.add_error("count", "How many approvals from this group?")
        # An empty row keeps its default count of 1; any other count needs a group.
        if data.get("count") not in (None, 1) and not data.get("group"):
            self.add_error("group", "Choose the group these approvals come from.")
        return data


class BaseApproverFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        groups = [f.cleaned_data.get("group") for f in self.forms if f.cleaned_data.get("group")]
        duplicates = sorted({g for g in groups if groups.count(g) > 1})
        if duplicates:
            raise forms.ValidationError(
                f"Name each group once ({', '.join(duplicates)} appears twice); "
                "put the number of approvals in its count."
            )

    def rows(self) -> list[dict]:
        return [
            {"group": f.cleaned_data["group"], "count": f.cleaned_data["count"]}
            for f in self.forms
            if getattr(f, "cleaned_data", None)
            and f.cleaned_data.get("group")
            and f.cleaned_data.get("count")
        ]


ApproverFormSet = forms.formset_factory(
    ApproverForm, formset=BaseApproverFormSet, extra=0, max_num=8, validate_max=True
)


def approver_formset(data=None, rule: ApprovalRule | None = None):
    """Rows for the rule's approvers plus two empty ones to add a group."""
    initial = list(rule.approvers) if rule is not None and rule.approvers else []
    initial += [{"group": "", "count": 1}] * 2
    return ApproverFormSet(data, initial=initial, prefix="approvers")


class PreviewForm(forms.Form):
    release = forms.CharField(
        required=False,
        label="Release key",
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "REL-…"}),
    )
