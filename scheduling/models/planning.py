"""What the sequencer and the schedule check need: validation time, order, vendors."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from releasemgr.models import BaseModel


class ValidationNeed(BaseModel):
    """How long a release must occupy an environment to be validated there."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="validation_needs"
    )
    environment = models.ForeignKey(
        "scheduling.Environment", on_delete=models.CASCADE, related_name="validation_needs"
    )
    hours = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["environment__order"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "environment"], name="unique_validation_need"
            )
        ]

    def __str__(self):
        return f"{self.release.key}: {self.hours} h in {self.environment}"

    def get_absolute_url(self):
        return self.release.get_absolute_url()


class ReleaseDependency(BaseModel):
    """``release`` must not ship before ``after`` (B after A)."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="sequencing_dependencies"
    )
    after = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="sequencing_dependents"
    )
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "after"], name="unique_release_dependency"),
            models.CheckConstraint(
                condition=~models.Q(release=models.F("after")), name="release_not_after_itself"
            ),
        ]
        verbose_name_plural = "release dependencies"

    def __str__(self):
        return f"{self.release.key} after {self.after.key}"

    def get_absolute_url(self):
        return self.release.get_absolute_url()


class VendorDeliverable(BaseModel):
    """Something a third party must deliver before the release can ship."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="vendor_deliverables"
    )
    vendor = models.CharField(max_length=100)
    description = models.CharField(max_length=200)
    expected_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    buffer_hours = models.PositiveIntegerField(
        default=48,
        validators=[MaxValueValidator(24 * 366, "At most a year (8784 hours).")],
        help_text="Time needed after delivery before the release can ship.",
    )

    class Meta:
        ordering = ["expected_at"]

    def __str__(self):
        return f"{self.vendor}: {self.description}"

    def get_absolute_url(self):
        return self.release.get_absolute_url()
