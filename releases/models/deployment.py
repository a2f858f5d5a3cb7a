"""Deployments of a release to an environment, their events, and gate decisions."""

import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel
from releases.choices import (
    DeploymentStatus,
    DeploymentStrategy,
    EventStatus,
    EventType,
    GateStatus,
)


class Deployment(BaseModel):
    """One attempt to roll a release out to one environment.

    Started only through ``releases.lifecycle.start_deployment`` (which asks the
    gate); finished by pipeline events.
    """

    release = models.ForeignKey(
        "releases.Release", on_delete=models.PROTECT, related_name="deployments"
    )
    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.PROTECT, related_name="deployments"
    )
    region = models.CharField(max_length=32, blank=True)
    status = models.CharField(
        max_length=20,
        choices=DeploymentStatus.choices,
        default=DeploymentStatus.RUNNING,
        editable=False,
        db_index=True,
    )
    strategy = models.CharField(
        max_length=20, choices=DeploymentStrategy.choices, default=DeploymentStrategy.ROLLING
    )
    pipeline_url = models.URLField(max_length=500, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    commits = models.JSONField(
        default=list,
        blank=True,
        help_text='Commits this deployment ships, for lead time: [{"sha": ..., "authored_at": '
        '..., "service": slug?}, ...] (no service: every service of the release).',
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deployments_started"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    gate_decision = models.ForeignKey(
        "releases.GateDecision",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    idempotency_key = models.CharField(max_length=100, blank=True, editable=False)
    # Strategy advice and pipeline integration (releases/strategy.py, curriculum 5.1 and 5.6).
    canary_steps = models.JSONField(
        default=list, blank=True, help_text='[{"percent": 5, "hold_minutes": 30}, ...]'
    )
    advised_strategy = models.CharField(max_length=20, blank=True, editable=False)
    advice_overridden = models.BooleanField(default=False, editable=False)
    advice_reasons = models.JSONField(default=list, blank=True, editable=False)
    change_record = models.ForeignKey(
        "governance.DecisionRecord",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The decision-log record of the approval this deployment executes.",
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["started_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_deployment_idempotency_key",
            )
        ]

    def __str__(self):
        return f"{self.release.key} → {self.environment} #{self.pk}"

    def get_absolute_url(self):
        return reverse("deployment_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status != DeploymentStatus.RUNNING


class DeploymentEvent(models.Model):
    """Something a pipeline reported about a deployment (append-only)."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=20, choices=EventType.choices)
    target = models.CharField(max_length=200, blank=True, help_text="Node, pod or region.")
    status = models.CharField(max_length=10, choices=EventStatus.choices, default=EventStatus.INFO)
    message = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "pk"]

    def __str__(self):
        return f"{self.get_type_display()} {self.target}".strip()

    def get_absolute_url(self):
        return self.deployment.get_absolute_url()


class GateDecision(models.Model):
    """One answer of the deployment gate, with every check and its reason (append-only)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    service_slug = models.CharField(max_length=100, blank=True)
    version = models.CharField(max_length=50, blank=True)
    environment_slug = models.CharField(max_length=100)
    region = models.CharField(max_length=32, blank=True)
    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gate_decisions",
    )
    status = models.CharField(max_length=10, choices=GateStatus.choices)
    allowed = models.BooleanField()
    checks = models.JSONField(default=list)
    retry_after = models.DateTimeField(null=True, blank=True)
    purpose = models.CharField(
        max_length=20,
        default="query",
        help_text="'query' (pipeline asked) or 'deployment' (start).",
    )

    class Meta:
        ordering = ["-created"]

    def __str__(self):
        return f"{self.status} {self.service_slug}@{self.version} → {self.environment_slug}"

    def get_absolute_url(self):
        return reverse("gate_decision_detail", args=[self.pk])
