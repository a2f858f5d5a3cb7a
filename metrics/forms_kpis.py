"""Forms of the KPI watch pages. They parse input; ``metrics.stabilisation`` decides."""

import math

from django import forms

from metrics.models import Kpi
from releasemgr.forms import BootstrapFormMixin


class KpiForm(BootstrapFormMixin, forms.ModelForm):
    reason = forms.CharField(
        max_length=100,
        required=False,
        label="Why the change",
        help_text="Kept in the history, e.g. 'threshold from the SLO review'.",
    )

    class Meta:
        model = Kpi
        fields = [
            "service",
            "name",
            "kind",
            "unit",
            "direction",
            "threshold",
            "tolerance_percent",
            "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = self.fields["service"].queryset.order_by("slug")
        self.fields["service"].empty_label = "Choose a service…"
        if self.instance.pk is None:
            del self.fields["reason"]

    def _finite(self, name):
        value = self.cleaned_data.get(name)
        if value is not None and not math.isfinite(value):
            raise forms.ValidationError("Enter a finite number.")
        return value

    def clean_threshold(self):
        return self._finite("threshold")

    def clean_tolerance_percent(self):
        return self._finite("tolerance_percent")


class WindowHoursForm(BootstrapFormMixin, forms.Form):
    hours = forms.IntegerField(
        min_value=1,
        max_value=24 * 30,
        help_text="Counted from the deployment's success.",
    )
    reason = forms.CharField(max_length=100, required=False, label="Why")


class AcknowledgeForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(
        max_length=300,
        required=False,
        label="Note",
        help_text="What is being done, e.g. 'fix-forward in 2.8.1'.",
    )
