"""Approvals of releases."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from governance.choices import ApprovalDecision
from releasemgr.models import BaseModel


class Approval(BaseModel):
    """A reviewer's decision on a submitted release, with their comment.

    Recorded only through ``releases.lifecycle.approve`` / ``reject``, which ask
    ``governance.policy`` whether this person may decide.
    """

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="approvals"
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approvals"
    )
    decision = models.CharField(max_length=10, choices=ApprovalDecision.choices)
    comment = models.TextField(blank=True)
    role = models.CharField(max_length=50, help_text="The role the approver acted in.")
    # Approvals belong to one submission; resubmitting starts a new round.
    round = models.PositiveIntegerField(default=1)
    conditions = models.TextField(
        blank=True, help_text="Conditions attached to an approval (e.g. from a CAB vote)."
    )
    agenda_item = models.ForeignKey(
        "governance.AgendaItem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="approvals",
        help_text="The CAB agenda item this decision came from, if any.",
    )

    class Meta:
        ordering = ["-created"]
        permissions = [("approve_release", "Can approve or reject releases")]

    def __str__(self):
        return f"{self.get_decision_display()} by {self.approver} on {self.release.key}"

    def get_absolute_url(self):
        return reverse("release_detail", args=[self.release.key]) + "#approvals"
