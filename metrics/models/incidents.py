"""Production incidents, the release they are attributed to, and the rollback-or-fix-forward
decisions taken about them (curriculum 6.2)."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class IncidentSeverity(models.TextChoices):
    # The history import contract (DESIGN.md) uses exactly these values.
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class IncidentStatus(models.TextChoices):
    OPEN = "open", "Open"
    MITIGATED = "mitigated", "Mitigated"
    RESOLVED = "resolved", "Resolved"


class Attribution(models.TextChoices):
    EXPLICIT = "explicit", "Explicit (caused by / release given)"
    AUTOMATIC = "automatic", "Automatic (latest production deployment)"
    NONE = "none", "Not attributed"


class RecoveryChoice(models.TextChoices):
    ROLLBACK = "rollback", "Roll back"
    FIX_FORWARD = "fix_forward", "Fix forward"


# Severities that tell the service's owners when the incident is attributed to a release.
NOTIFY_SEVERITIES = (IncidentSeverity.CRITICAL, IncidentSeverity.HIGH)


class Incident(BaseModel):
    """Something went wrong with a service in production.

    It is attributed to the release (and production deployment) that most likely caused it:
    the one named by whoever reported it, or else the latest production deployment of the
    service that finished shortly before it started (``metrics.attribution``).
    """

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    service = models.ForeignKey(
        "releases.Service", on_delete=models.PROTECT, related_name="incidents"
    )
    severity = models.CharField(max_length=10, choices=IncidentSeverity.choices)
    status = models.CharField(
        max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN, db_index=True
    )
    started_at = models.DateTimeField(db_index=True)
    detected_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
        help_text="The release the incident is attributed to.",
    )
    caused_by = models.ForeignKey(
        "releases.Deployment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
        help_text="The production deployment that caused it.",
    )
    # The deployment record (one service's deployment, native or imported) the metrics count
    # this incident against: the explicit cause, or the attribution rule's pick.
    deployment_record = models.ForeignKey(
        "metrics.DeploymentRecord",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidents",
    )
    attribution = models.CharField(
        max_length=10, choices=Attribution.choices, default=Attribution.NONE
    )
    attribution_reason = models.TextField(blank=True)
    external_id = models.CharField(
        max_length=200, blank=True, help_text="The incident's id in another tool (unique)."
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-started_at", "-pk"]
        permissions = [("decide_recovery", "Can decide to roll back or fix forward")]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="unique_incident_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["service", "started_at"]),
            # The rollup job's changed-since scan (metrics.rollups.touched_days).
            models.Index(fields=["updated"], name="incident_updated"),
        ]

    def __str__(self):
        return f"INC-{self.pk} {self.title}"

    def get_absolute_url(self):
        return reverse("incident_detail", args=[self.pk])

    @property
    def is_resolved(self) -> bool:
        return self.status == IncidentStatus.RESOLVED


class RecoveryDecision(BaseModel):
    """Who decided to roll back or fix forward for an incident, why, and what the decision
    aid advised at that moment (its snapshot)."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="recovery_decisions"
    )
    choice = models.CharField(max_length=12, choices=RecoveryChoice.choices)
    reason = models.TextField()
    advice = models.JSONField(default=dict, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"{self.get_choice_display()} for INC-{self.incident_id}"

    def get_absolute_url(self):
        return self.incident.get_absolute_url() + "#decisions"
