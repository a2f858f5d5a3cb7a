"""The quality-gate form: exit criteria as repeated rows (metric, operator, threshold, suite).

The rules stay in the model (``criteria_errors`` and ``QualityGate.clean``): a row only turns
its inputs into a criterion and asks the model's rules about each of its fields, so the row
shows the model's own message next to the field that is wrong.
"""

from __future__ import annotations

import re

from django import forms

from releasemgr.forms import BootstrapFormMixin
from releases.models import QualityGate
from releases.models.validation import METRICS, OPS, criteria_errors

ROW_FIELDS = ("metric", "op", "threshold", "suite")
# A criterion the model accepts: a row's field is checked by putting it in place of one of these.
_GOOD = {"metric": next(iter(METRICS)), "op": OPS[0], "threshold": 0}
_PREFIX = re.compile(r"^Criterion \d+:?\s*")
BLANK_ROWS = 3


def _number(text: str):
    """The threshold as a number when it reads as one, else the text (the model says why)."""
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class CriterionForm(BootstrapFormMixin, forms.Form):
    """One exit criterion. All fields optional so that a blank row is simply no criterion."""

    metric = forms.CharField(
        required=False,
        widget=forms.Select(
            choices=[("", "— metric —")]
            + [(key, f"{label} ({key})") for key, (label, _u, _s) in METRICS.items()]
        ),
    )
    op = forms.CharField(
        required=False,
        label="Operator",
        widget=forms.Select(choices=[("", "—")] + [(op, op) for op in OPS]),
    )
    threshold = forms.CharField(
        required=False, max_length=40, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    suite = forms.CharField(
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "usual suite"}),
        help_text="Optional: read another suite than the metric's usual one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ROW_FIELDS:
            self.fields[name].widget.attrs["aria-label"] = self.fields[name].label or name.title()

    def clean(self):
        data = super().clean()
        raw = {name: (data.get(name) or "").strip() for name in ROW_FIELDS}
        self.blank = not any(raw.values())
        self.criterion = None
        if self.blank:
            return data
        for name, message in (
            ("metric", "Choose a metric."),
            ("op", "Choose an operator."),
            ("threshold", "Give a number."),
        ):
            if not raw[name]:
                self.add_error(name, message)
        item = {"metric": raw["metric"], "op": raw["op"], "threshold": _number(raw["threshold"])}
        if raw["suite"]:
            item["suite"] = raw["suite"]
        for name, value in item.items():
            if not raw[name] or name in self.errors:
                continue
            for message in criteria_errors([{**_GOOD, name: value}]):
                self.add_error(name, _PREFIX.sub("", message))
        if not self.errors:
            self.criterion = item
        return data


class BaseCriterionFormSet(forms.BaseFormSet):
    def criteria(self) -> list[dict]:
        """The criteria of the filled, kept rows (call after ``is_valid``)."""
        return [
            form.criterion
            for form in self.forms
            if getattr(form, "criterion", None) and not self._should_delete_form(form)
        ]

    def has_row_errors(self) -> bool:
        return bool(self.non_form_errors()) or any(
            form.errors for form in self.forms if not self._should_delete_form(form)
        )


CriterionFormSet = forms.formset_factory(
    CriterionForm, formset=BaseCriterionFormSet, extra=BLANK_ROWS, can_delete=True
)


def criterion_rows(data=None, criteria=()) -> BaseCriterionFormSet:
    """The criteria rows: the gate's criteria plus a few blank rows to add more."""
    initial = [
        {
            "metric": c.get("metric", ""),
            "op": c.get("op", ""),
            "threshold": _show(c.get("threshold", "")),
            "suite": c.get("suite", ""),
        }
        for c in criteria
        if isinstance(c, dict)
    ]
    return CriterionFormSet(data, initial=initial or None, prefix="criteria")


class QualityGateForm(BootstrapFormMixin, forms.ModelForm):
    """The gate's fields; its criteria come from the rows (``self.rows``)."""

    criteria = forms.Field(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(
        required=False, max_length=200, help_text="Why the gate changes (kept in its history)."
    )

    class Meta:
        model = QualityGate
        fields = [
            "environment",
            "name",
            "description",
            "active",
            "criteria",
            "min_load_ratio",
            "load_assumption",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "load_assumption": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.rows = criterion_rows(data, self.instance.criteria or ())

    def clean_criteria(self):
        # Whatever was posted under "criteria" is ignored: the rows are the criteria.
        self.rows.is_valid()
        return self.rows.criteria()

    def _post_clean(self):
        super()._post_clean()
        if self.rows.has_row_errors():
            # The model's list-wide messages would repeat the rows' own; point at them instead.
            self._errors["criteria"] = self.error_class(["Fix the criteria marked below."])
            self.cleaned_data.pop("criteria", None)
