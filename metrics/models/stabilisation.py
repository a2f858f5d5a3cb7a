"""The 72-hour watch after a production deployment, and the alerts it raises."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class WindowState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Verdict(models.TextChoices):
    PENDING = "", "Pending"
    STABLE = "stable", "Stable"
    BREACHED = "breached", "Breached"
    NO_DATA = "no_data", "No data"


class StabilisationWindow(BaseModel):
    """The watch over a release's KPIs after its production deployment succeeded.

    It opens at the deployment's success and lasts ``hours`` (``STABILISATION_HOURS``,
    72 by default; a release manager may shorten or extend it). Each KPI of the shipped
    services is compared with its threshold, or with its median in the
    ``baseline_hours`` before the deployment started. When ``ends_at`` passes, the window
    closes with a verdict: stable, breached, or no data.
    """

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="stabilisation_windows"
    )
    deployment = models.OneToOneField(
        "releases.Deployment", on_delete=models.CASCADE, related_name="stabilisation_window"
    )
    opened_at = models.DateTimeField()
    hours = models.PositiveIntegerField(help_text="How long the watch lasts after the deployment.")
    ends_at = models.DateTimeField(db_index=True)
    baseline_hours = models.PositiveIntegerField(
        help_text="The baseline is the median of each KPI in this many hours before the deployment."
    )
    state = models.CharField(
        max_length=10, choices=WindowState.choices, default=WindowState.OPEN, db_index=True
    )
    verdict = models.CharField(max_length=10, choices=Verdict.choices, default="", blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The latest evaluation (the job refreshes it; at closing it is the verdict's reasons).
    reasons = models.JSONField(default=list, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]

    def __str__(self):
        return f"{self.release.key} stabilisation ({self.get_state_display().lower()})"

    def get_absolute_url(self):
        return reverse("stabilisation_window_detail", args=[self.pk])


class KpiAlert(BaseModel):
    """A KPI breached its limit during a stabilisation window (one per breach episode)."""

    window = models.ForeignKey(StabilisationWindow, on_delete=models.CASCADE, related_name="alerts")
    kpi = models.ForeignKey("metrics.Kpi", on_delete=models.PROTECT, related_name="alerts")
    breach_started_at = models.DateTimeField(help_text="When the first breaching sample was taken.")
    value = models.FloatField(help_text="The worst value of the breach.")
    limit = models.FloatField(help_text="The threshold, or the baseline plus its tolerance.")
    baseline = models.FloatField(null=True, blank=True)
    message = models.CharField(max_length=300)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    acknowledgement = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-breach_started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["window", "kpi", "breach_started_at"], name="unique_kpi_alert_per_breach"
            )
        ]

    def __str__(self):
        return f"{self.kpi} breach at {self.breach_started_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return self.window.get_absolute_url() + f"#alert-{self.pk}"
