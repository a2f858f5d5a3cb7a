"""Risk configuration (weights and bands) and the assessments taken from it."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from governance.choices import RiskBand
from releasemgr.models import BaseModel


class RiskConfig(BaseModel):
    """How risk is scored: a weight per factor and where each band starts.

    One row (``RiskConfig.current()``); every edit is kept in its history.
    """

    weights = models.JSONField(
        default=dict, blank=True, help_text="Factor code → weight (points at full value)."
    )
    medium_from = models.PositiveSmallIntegerField(default=25)
    high_from = models.PositiveSmallIntegerField(default=50)
    critical_from = models.PositiveSmallIntegerField(default=75)

    class Meta:
        verbose_name = "risk configuration"

    def __str__(self):
        return "Risk configuration"

    def get_absolute_url(self):
        return reverse("risk_config")

    def clean(self):
        if not (0 < self.medium_from < self.high_from < self.critical_from):
            raise ValidationError(
                "Band thresholds must rise: 0 < medium < high < critical "
                f"(got {self.medium_from}, {self.high_from}, {self.critical_from})."
            )

    @classmethod
    def current(cls) -> "RiskConfig":
        config = cls.objects.order_by("pk").first()
        return config if config is not None else cls.objects.create()


class RiskAssessment(BaseModel):
    """A release's risk as scored at one moment (kept at each submission)."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="risk_assessments"
    )
    round = models.PositiveIntegerField(default=0)
    score = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=10, choices=RiskBand.choices)
    factors = models.JSONField(
        default=list, help_text="[{code, label, weight, value, points, explanation}]"
    )
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.release.key}: {self.band} ({self.score})"

    def get_absolute_url(self):
        return self.release.get_absolute_url() + "#risk"
