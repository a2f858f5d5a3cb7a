"""Rollback scope and disaster-recovery tests (curriculum 1.6 and 4.5).

A release's rollback plan is a list of steps per shipped service, each with an estimate, set
against the service's recovery SLA (``releases.rollback_scope``). A DR test records that a
service requiring high availability was actually recovered, and how fast
(``releases.dr``). Both feed the deployment gate for production.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class DrResult(models.TextChoices):
    PASSED = "passed", "Passed"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"


class RollbackStep(BaseModel):
    """One step of undoing a release for one of its services, with how long it takes."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="rollback_steps"
    )
    service = models.ForeignKey(
        "releases.Service", on_delete=models.PROTECT, related_name="rollback_steps"
    )
    position = models.PositiveIntegerField(
        default=1, help_text="Order of the step within the service's rollback (1 first)."
    )
    description = models.CharField(
        max_length=500, help_text="What to do, e.g. 'redeploy image 1.4.1 with helm rollback'."
    )
    estimated_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(1, message="A step takes at least 1 minute.")],
        help_text="How long the step takes, at least 1 minute.",
    )

    class Meta:
        ordering = ["release", "service__name", "position", "pk"]

    def __str__(self):
        return f"{self.service} step {self.position}: {self.description[:60]}"

    def get_absolute_url(self):
        return self.release.get_absolute_url() + "#validation"

    def clean(self):
        if (
            self.release_id
            and self.service_id
            and not self.release.release_services.filter(service_id=self.service_id).exists()
        ):
            raise ValidationError(
                {"service": f"{self.release.key} does not ship {self.service}; add it first."}
            )


class DrTest(BaseModel):
    """A disaster-recovery test of a service: what failed over, and the RTO/RPO achieved."""

    service = models.ForeignKey(
        "releases.Service", on_delete=models.PROTECT, related_name="dr_tests"
    )
    tested_at = models.DateTimeField(db_index=True)
    scenario = models.CharField(
        max_length=200, help_text="e.g. 'Primary region lost', 'Database failover'."
    )
    what_was_tested = models.TextField(
        blank=True, help_text="Components, data and procedures exercised."
    )
    result = models.CharField(max_length=10, choices=DrResult.choices)
    rto_target_minutes = models.PositiveIntegerField(
        validators=[
            MinValueValidator(1, message="A recovery time objective is at least 1 minute.")
        ],
        help_text="Recovery time objective; defaults to the service's recovery SLA.",
    )
    rto_achieved_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(0, message="The recovery time achieved cannot be negative.")],
        help_text="How long the recovery actually took.",
    )
    rpo_target_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(0, message="A recovery point objective cannot be negative.")],
        help_text="Recovery point objective: how much data (in minutes) may be lost.",
    )
    rpo_achieved_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(0, message="The data loss achieved cannot be negative.")],
        help_text="How much data (in minutes) was actually lost.",
    )
    evidence_link = models.URLField(blank=True, max_length=500)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-tested_at", "-pk"]
        verbose_name = "DR test"

    def __str__(self):
        return (
            f"DR test of {self.service} on {self.tested_at:%Y-%m-%d}: {self.get_result_display()}"
        )

    def get_absolute_url(self):
        return reverse("dr_test_detail", args=[self.pk])

    @property
    def rto_met(self) -> bool:
        return self.rto_achieved_minutes <= self.rto_target_minutes

    @property
    def rpo_met(self) -> bool:
        return self.rpo_achieved_minutes <= self.rpo_target_minutes

    @property
    def validates(self) -> bool:
        """Passed and within both targets: it counts for the gate."""
        return self.result == DrResult.PASSED and self.rto_met and self.rpo_met
