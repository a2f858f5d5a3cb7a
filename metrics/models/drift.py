"""Configuration drift (issue 6, item 10): what a service's configuration really is in an
environment (snapshots posted by pipelines or agents), what it should be (the baseline), and
each difference someone must reconcile."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class DriftKind(models.TextChoices):
    MISSING = "missing", "Missing (expected, not found)"
    UNEXPECTED = "unexpected", "Unexpected (found, not expected)"
    CHANGED = "changed", "Changed value"


class DriftStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted_as_baseline", "Accepted as baseline"
    TO_FIX = "to_fix", "To fix"
    FIXED = "fixed", "Fixed"


class ConfigSnapshot(models.Model):
    """The configuration of one service as observed in one environment (append-only).

    Values are redacted before they are saved: a planted secret is never stored.
    """

    service = models.ForeignKey(
        "releases.Service", on_delete=models.CASCADE, related_name="config_snapshots"
    )
    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.PROTECT, related_name="config_snapshots"
    )
    taken_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=100, blank=True, help_text="Pipeline or agent name.")
    values = models.JSONField(default=dict, help_text="{key: value}; secrets redacted.")
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-taken_at", "-pk"]
        indexes = [models.Index(fields=["service", "environment", "taken_at"])]

    def __str__(self):
        return f"{self.service.slug}@{self.environment.slug} {self.taken_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return reverse("config_snapshot_detail", args=[self.pk])


class ConfigBaseline(BaseModel):
    """The accepted configuration of a service in an environment: what drift is measured
    against when no deploying or deployed release brings its own configuration set."""

    service = models.ForeignKey(
        "releases.Service", on_delete=models.CASCADE, related_name="config_baselines"
    )
    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.PROTECT, related_name="config_baselines"
    )
    values = models.JSONField(default=dict)

    class Meta:
        ordering = ["service__slug", "environment__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "environment"], name="unique_config_baseline"
            )
        ]

    def __str__(self):
        return f"Baseline {self.service.slug}@{self.environment.slug}"

    def get_absolute_url(self):
        return reverse("drift_service", args=[self.service.slug])


class DriftItem(BaseModel):
    """One difference between the observed and the expected configuration, and what was
    decided about it (accepted as the new baseline, or to be fixed), with history."""

    service = models.ForeignKey(
        "releases.Service", on_delete=models.CASCADE, related_name="drift_items"
    )
    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.PROTECT, related_name="drift_items"
    )
    key = models.CharField(max_length=200)
    expected = models.JSONField(null=True, blank=True)
    actual = models.JSONField(null=True, blank=True)
    kind = models.CharField(max_length=12, choices=DriftKind.choices)
    status = models.CharField(
        max_length=24, choices=DriftStatus.choices, default=DriftStatus.OPEN, db_index=True
    )
    snapshot = models.ForeignKey(
        ConfigSnapshot,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="drift_items",
        help_text="The latest snapshot that showed (or cleared) this difference.",
    )
    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="drift_items",
        help_text="The release whose configuration set was expected, if any.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["service__slug", "environment__order", "key", "-pk"]
        indexes = [models.Index(fields=["service", "environment", "key"])]

    def __str__(self):
        return f"{self.service.slug}@{self.environment.slug}: {self.key} ({self.kind})"

    def get_absolute_url(self):
        return reverse("drift_item_detail", args=[self.pk])
