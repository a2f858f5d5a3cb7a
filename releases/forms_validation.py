"""The quality-gate form: exit criteria as a validated JSON list."""

import json

from django import forms

from releasemgr.forms import BootstrapFormMixin
from releases.models import QualityGate
from releases.models.validation import METRICS, OPS

CRITERIA_HELP = (
    'One object per criterion, e.g. <code>[{"metric": "smoke_failed", "op": "==", '
    '"threshold": 0}, {"metric": "p95_latency_ms", "op": "&lt;=", "threshold": 300}]</code>. '
    f"Metrics: {', '.join(METRICS)}. Operators: {' '.join(OPS).replace('<', '&lt;')}. "
    'An optional <code>"suite"</code> reads another suite than the metric\'s usual one.'
)


class QualityGateForm(BootstrapFormMixin, forms.ModelForm):
    criteria = forms.JSONField(
        widget=forms.Textarea(attrs={"rows": 6, "class": "font-monospace"}),
        help_text=CRITERIA_HELP,
    )
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound and self.instance.pk:
            self.initial["criteria"] = json.dumps(self.instance.criteria, indent=1)
