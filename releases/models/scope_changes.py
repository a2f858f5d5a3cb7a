"""Scope negotiation (curriculum 1.2) and tech-debt estimates (1.3).

The rules live in ``releases.scope_changes``; these models only hold what was asked,
decided and estimated.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel
from releases.choices import ScopeKind


class ScopeChangeKind(models.TextChoices):
    ADD = "add", "Add an item"
    PULL = "pull", "Pull an item"
    EMERGENCY_FIX = "emergency_fix", "Add an emergency fix"


class ScopeChangeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ScopeChangeRequest(BaseModel):
    """Someone asks to change what a release contains (add an item or an emergency fix, pull
    a feature), says why and what it does to the plan; the release's product owner accepts
    or declines it."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="scope_change_requests"
    )
    kind = models.CharField(max_length=20, choices=ScopeChangeKind.choices)
    title = models.CharField(max_length=200, help_text="The item to add or pull.")
    reason = models.TextField(help_text="Why the scope should change.")
    impact_on_plan = models.TextField(
        blank=True, help_text="What the change does to the plan (dates, testing, people)."
    )
    plan_shift_days = models.PositiveIntegerField(
        default=0, help_text="Days the planned dates move if the change is accepted."
    )
    item_kind = models.CharField(
        max_length=20,
        choices=ScopeKind.choices,
        default=ScopeKind.FEATURE,
        help_text="The kind of scope item added (an emergency fix is always a fix).",
    )
    service = models.ForeignKey(
        "releases.Service",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="scope_change_requests",
        help_text="The service the added item changes.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="scope_change_requests"
    )
    status = models.CharField(
        max_length=10,
        choices=ScopeChangeStatus.choices,
        default=ScopeChangeStatus.PENDING,
        db_index=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="decided_scope_changes",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    scope_item = models.ForeignKey(
        "releases.ScopeItem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="change_requests",
        help_text="The item pulled, or the item the accepted request added.",
    )
    emergency_release = models.ForeignKey(
        "releases.Release",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="emergency_fix_requests",
        help_text="The emergency fix raised as its own release, if it is one.",
    )

    class Meta:
        ordering = ["-created"]
        permissions = [
            ("decide_scopechangerequest", "Can accept or decline scope change requests"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()}: {self.title}"

    def get_absolute_url(self):
        return reverse("scope_change_detail", args=[self.pk])


class TechDebtEstimate(BaseModel):
    """How much a tech-debt item costs (effort) and what it buys (risk reduction, 1 to 5)."""

    scope_item = models.OneToOneField(
        "releases.ScopeItem", on_delete=models.CASCADE, related_name="tech_debt_estimate"
    )
    effort_days = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(0), MaxValueValidator(365)],
        help_text="Engineering days to do it.",
    )
    risk_reduction = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="1 (cosmetic) to 5 (removes a likely cause of incidents).",
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["scope_item__title"]

    def __str__(self):
        return f"{self.scope_item}: {self.effort_days} d, risk reduction {self.risk_reduction}/5"

    def get_absolute_url(self):
        return self.scope_item.get_absolute_url()

    def clean(self):
        if self.scope_item_id and self.scope_item.kind != ScopeKind.TECH_DEBT:
            raise ValidationError({"scope_item": "Only tech-debt scope items carry an estimate."})
