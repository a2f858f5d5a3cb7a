"""Where a deployment runs (nodes, pods, regions) and what people decided when it went wrong.

Changed only through ``releases.rollout`` (node results from the pipeline, retry, roll back,
accept, override a halt).
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class TargetKind(models.TextChoices):
    NODE = "node", "Node"
    POD = "pod", "Pod"
    REGION = "region", "Region"


class TargetStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"


FINAL_TARGET_STATUSES = (TargetStatus.SUCCEEDED, TargetStatus.FAILED, TargetStatus.ROLLED_BACK)


class RolloutDecisionKind(models.TextChoices):
    RETRY_FAILED = "retry_failed", "Retry failed targets"
    ROLLBACK_SUCCEEDED = "rollback_succeeded", "Roll back succeeded targets"
    ACCEPT_PARTIAL = "accept_partial", "Accept partial deployment"
    OVERRIDE_HALT = "override_halt", "Override smoke-test halt"


class DeploymentTarget(BaseModel):
    """One node, pod or region a deployment rolls out to, and the version it runs now.

    The pipeline reports each target's result with a ``node`` event; the release manager
    sees which node runs which version when a rollout fails part-way.
    """

    deployment = models.ForeignKey(
        "releases.Deployment", on_delete=models.CASCADE, related_name="targets"
    )
    name = models.CharField(max_length=200, help_text="Node, pod or region name.")
    kind = models.CharField(max_length=10, choices=TargetKind.choices, default=TargetKind.NODE)
    status = models.CharField(
        max_length=20, choices=TargetStatus.choices, default=TargetStatus.PENDING, editable=False
    )
    version = models.CharField(max_length=50, blank=True, help_text="Version it runs now.")
    previous_version = models.CharField(
        max_length=50, blank=True, help_text="Version it ran before this deployment."
    )
    attempts = models.PositiveIntegerField(default=0)
    last_message = models.TextField(blank=True)
    declared = models.BooleanField(
        default=False, help_text="Declared in the deployment's plan (not first seen in a result)."
    )

    class Meta:
        ordering = ["deployment", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "name"], name="unique_deployment_target_name"
            )
        ]
        permissions = [
            (
                "decide_partial_failure",
                "Retry, roll back or accept a partially failed deployment",
            ),
            ("override_halt", "Override a deployment halted by a failed smoke test"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_status_display().lower()})"

    def get_absolute_url(self):
        return reverse("deployment_detail", args=[self.deployment_id]) + "#targets"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_TARGET_STATUSES


class RolloutDecision(BaseModel):
    """What a release manager decided about a deployment that failed part-way or was halted,
    who decided and why (retry, roll back, accept, override a smoke-test halt)."""

    deployment = models.ForeignKey(
        "releases.Deployment", on_delete=models.CASCADE, related_name="rollout_decisions"
    )
    kind = models.CharField(max_length=30, choices=RolloutDecisionKind.choices)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    subjects = models.JSONField(
        default=list, blank=True, help_text="Targets or smoke tests the decision was about."
    )

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} on deployment #{self.deployment_id}"

    def get_absolute_url(self):
        return reverse("deployment_detail", args=[self.deployment_id]) + "#rollout"
