"""Time-boxed exceptions that let a release deploy inside a freeze."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel
from scheduling.choices import ExceptionStatus, RiskLevel


class FreezeException(BaseModel):
    """A request to deploy a release inside a window that would otherwise stop it.

    Names the release, the window, the justification and the risk; approved by
    someone in a role other than the requester's; valid only between
    ``valid_from`` and ``valid_until``. Decided through ``scheduling.freeze_exceptions``.
    """

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="freeze_exceptions"
    )
    window = models.ForeignKey(
        "scheduling.FreezeWindow", on_delete=models.CASCADE, related_name="exceptions"
    )
    justification = models.TextField()
    risk = models.TextField(help_text="What could go wrong and how it is contained.")
    risk_level = models.CharField(
        max_length=10, choices=RiskLevel.choices, default=RiskLevel.MEDIUM
    )
    expedited = models.BooleanField(
        default=False, help_text="Security patch or emergency change: decided first."
    )
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    status = models.CharField(
        max_length=10,
        choices=ExceptionStatus.choices,
        default=ExceptionStatus.PENDING,
        editable=False,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="freeze_exceptions_requested",
    )
    requester_roles = models.JSONField(default=list, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="freeze_exceptions_decided",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-expedited", "-created"]
        permissions = [("decide_freezeexception", "Can approve or reject freeze exceptions")]

    def __str__(self):
        return f"Exception for {self.release.key} in {self.window}"

    def get_absolute_url(self):
        return reverse("exception_detail", args=[self.pk])
