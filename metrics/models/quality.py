"""Release quality score (curriculum 8.6): the weights release managers tune, and one stored
score per release that reached production (``metrics.quality_score`` computes both)."""

from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class QualityWeights(BaseModel):
    """How many points each thing that went wrong after a release costs its quality score.

    One row (the newest is in force); release managers edit it, history keeps who and why.
    Each component is capped so one noisy source cannot take the whole score.
    """

    ticket_points = models.PositiveSmallIntegerField(
        default=5, help_text="Per release-related support ticket."
    )
    ticket_cap = models.PositiveSmallIntegerField(default=30)
    incident_critical_points = models.PositiveSmallIntegerField(default=25)
    incident_high_points = models.PositiveSmallIntegerField(default=15)
    incident_medium_points = models.PositiveSmallIntegerField(default=8)
    incident_low_points = models.PositiveSmallIntegerField(default=3)
    incident_cap = models.PositiveSmallIntegerField(default=50)
    kpi_alert_points = models.PositiveSmallIntegerField(
        default=5, help_text="Per KPI breach in the release's stabilisation window."
    )
    kpi_alert_cap = models.PositiveSmallIntegerField(default=20)
    feedback_points = models.PositiveSmallIntegerField(
        default=3,
        help_text="Per ticket attributed to the release with negative sentiment or a rating of "
        "1 or 2.",
    )
    feedback_cap = models.PositiveSmallIntegerField(default=15)
    production_failure_points = models.PositiveSmallIntegerField(
        default=20,
        help_text="Per production deployment of the release that failed or was rolled back.",
    )
    production_failure_cap = models.PositiveSmallIntegerField(default=40)

    class Meta:
        ordering = ["-pk"]
        verbose_name_plural = "quality weights"

    def __str__(self):
        return "Quality score weights"

    def get_absolute_url(self):
        return reverse("metrics_quality")


class ReleaseQualityScore(BaseModel):
    """A release's quality score 0–100 and the points each component took off, as last computed.

    ``components`` is ``[{code, label, count, points, deducted, message}]``; ``deployed_at`` is
    when the release first reached production, whether that deployment succeeded, failed or
    was rolled back (the trend buckets by it).
    """

    release = models.OneToOneField(
        "releases.Release", on_delete=models.CASCADE, related_name="quality_score"
    )
    score = models.PositiveSmallIntegerField()
    components = models.JSONField(default=list)
    deployed_at = models.DateTimeField(db_index=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-deployed_at", "-pk"]

    def __str__(self):
        return f"{self.release_id}: {self.score}"

    def get_absolute_url(self):
        return self.release.get_absolute_url() + "#stabilisation"
