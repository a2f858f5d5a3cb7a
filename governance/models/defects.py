"""Defects found late in a release, and residual-risk acceptances signed for them."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from governance.choices import DefectSeverity, DefectStatus
from releasemgr.models import BaseModel

BLOCKING_SEVERITIES = (DefectSeverity.CRITICAL, DefectSeverity.HIGH)


class Defect(BaseModel):
    """A defect found in a release before it ships (tests, UAT, staging)."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="defects"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=DefectSeverity.choices)
    status = models.CharField(
        max_length=10, choices=DefectStatus.choices, default=DefectStatus.OPEN, db_index=True
    )
    reference = models.CharField(max_length=100, blank=True, help_text="Tracker id, e.g. PAY-812.")
    found_in = models.ForeignKey(
        "scheduling.Environment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the release manager and owner were told."
    )

    class Meta:
        ordering = ["status", "severity", "-created"]

    def __str__(self):
        return f"{self.get_severity_display()}: {self.title}"

    def get_absolute_url(self):
        return reverse("defect_detail", args=[self.pk])

    @property
    def is_blocking(self) -> bool:
        return self.status == DefectStatus.OPEN and self.severity in BLOCKING_SEVERITIES


class RiskAcceptance(BaseModel):
    """An authorised person accepts shipping with open defects, until an expiry."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="risk_acceptances"
    )
    defects = models.ManyToManyField(Defect, related_name="acceptances")
    rationale = models.TextField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(max_length=50, help_text="The role the person signed in.")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created"]
        permissions = [("accept_residual_risk", "Can accept residual risk for a release")]

    def __str__(self):
        return f"Residual risk accepted on {self.release.key} until {self.expires_at:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("risk_acceptance_detail", args=[self.pk])

    def clean(self):
        if not self.rationale.strip():
            raise ValidationError({"rationale": "Say why the residual risk is acceptable."})
