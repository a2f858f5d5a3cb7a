"""Forms of the late-defect pages. They parse input; ``governance.defects`` decides."""

from django import forms

from governance import defects as rules
from governance.choices import DefectSeverity, DefectStatus
from governance.models import Defect
from releasemgr.decisions import DomainError
from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releases.models import Release
from scheduling.models import Environment


class DomainErrorsMixin:
    def add_domain_errors(self, exc: DomainError) -> None:
        """Each of the decision's reasons on the field it is about (or on the form)."""
        for reason in exc.reasons or []:
            field = (reason.data or {}).get("field")
            self.add_error(field if field in self.fields else None, reason.message)
        if not exc.reasons:
            self.add_error(None, exc.message)


class ReleaseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.key} {obj.name} ({obj.get_state_display().lower()})"


class DefectForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    release = ReleaseChoiceField(
        queryset=Release.objects.exclude(state__in=rules.FINISHED_STATES).order_by("-created"),
        to_field_name="key",
        empty_label="Choose a release…",
        error_messages={"invalid_choice": "Unknown or finished release; pick one from the list."},
    )
    title = forms.CharField(max_length=200)
    severity = forms.ChoiceField(
        choices=DefectSeverity.choices,
        initial=DefectSeverity.HIGH,
        help_text="Critical and high defects block the release at the gate until fixed, "
        "delayed for, or accepted as residual risk.",
    )
    reference = forms.CharField(
        max_length=100, required=False, help_text="Tracker id, e.g. PAY-812."
    )
    found_in = forms.ModelChoiceField(
        queryset=Environment.objects.order_by("order"), required=False, empty_label="—"
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["release"]
            self.fields["reason"] = forms.CharField(
                max_length=100,
                required=False,
                label="Why the change",
                help_text="Kept in the history, e.g. 'downgraded after triage'.",
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )

    @staticmethod
    def initial_for(defect: Defect) -> dict:
        return {name: getattr(defect, name) for name in rules.EDITABLE_FIELDS}


class ResolveForm(BootstrapFormMixin, forms.Form):
    status = forms.ChoiceField(
        choices=[(DefectStatus.RESOLVED, "Resolved"), (DefectStatus.WONT_FIX, "Won't fix")],
        initial=DefectStatus.RESOLVED,
    )
    comment = forms.CharField(max_length=500, required=False)


class AcceptanceForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    defects = forms.ModelMultipleChoiceField(
        queryset=Defect.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The open defects whose risk you accept; only these are covered.",
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=4000,
        help_text="Why shipping with them is acceptable: impact, workaround, when the fix comes.",
    )
    expires_at = forms.DateTimeField(
        widget=DateTimeInput(),
        required=False,
        label="Expires",
    )

    def __init__(self, *args, release=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "expires_at"
        ].help_text = f"Required; at most {rules.max_acceptance_days()} days from now."
        if release is not None:
            self.fields["defects"].queryset = Defect.objects.filter(
                release=release, status=DefectStatus.OPEN
            ).order_by("severity", "created")
        self.fields["defects"].widget.attrs["class"] = "form-check-input"
        self.fields["defects"].label_from_instance = lambda d: (
            f"{d.get_severity_display()}: {d.title}" + (f" ({d.reference})" if d.reference else "")
        )


class RevokeForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False)


class DelayForm(DomainErrorsMixin, BootstrapFormMixin, forms.Form):
    planned_start = forms.DateTimeField(widget=DateTimeInput(), label="New planned start")
    planned_end = forms.DateTimeField(
        widget=DateTimeInput(),
        required=False,
        label="New planned end",
        help_text="Empty keeps the planned duration.",
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=500,
        help_text="Why the release waits, e.g. the defect it waits for.",
    )
