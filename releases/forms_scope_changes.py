"""Forms of the scope-change pages: request, decide, estimate, take from the backlog."""

from django import forms

from releasemgr.forms import BootstrapFormMixin
from releases.choices import ReleaseKind, ScopeKind
from releases.models import Release, ScopeItem, Service, TechDebtEstimate
from releases.models.scope_changes import ScopeChangeKind


class ScopeChangeRequestForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(choices=ScopeChangeKind.choices, label="Change")
    title = forms.CharField(max_length=200, required=False, help_text="Blank for a pull.")
    scope_item = forms.ModelChoiceField(
        queryset=ScopeItem.objects.none(), required=False, label="Item to pull"
    )
    item_kind = forms.ChoiceField(choices=ScopeKind.choices, initial=ScopeKind.FEATURE)
    service = forms.ModelChoiceField(queryset=Service.objects.all(), required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    impact_on_plan = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Impact on the plan"
    )
    plan_shift_days = forms.IntegerField(initial=0, label="Plan shift (days)")

    def __init__(self, *args, release: Release, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope_item"].queryset = release.scope_items.filter(decision="included")
        self.fields["service"].queryset = Service.objects.filter(release_links__release=release)


class DecideForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("decline", "Decline")])
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


class TechDebtEstimateForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = TechDebtEstimate
        fields = ["effort_days", "risk_reduction", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}


class TakeForm(BootstrapFormMixin, forms.Form):
    release = forms.ModelChoiceField(
        queryset=Release.objects.filter(
            kind=ReleaseKind.MAINTENANCE, state__in=["draft", "rejected"]
        ),
        label="Maintenance release",
        to_field_name="key",
    )
    note = forms.CharField(required=False, max_length=500)
