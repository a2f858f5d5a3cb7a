"""Adaptive approval thresholds (curriculum 8.7): a suggestion to relax or tighten the approval
policy for one team or domain, from its delivery history (``metrics.adaptive_policy``)."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class SuggestionDirection(models.TextChoices):
    RELAX = "relax", "Relax"
    TIGHTEN = "tighten", "Tighten"


class SuggestionStatus(models.TextChoices):
    OPEN = "open", "Open"
    APPLIED = "applied", "Applied"
    DISMISSED = "dismissed", "Dismissed"


class PolicySuggestion(BaseModel):
    """ "Payments' low-risk normal changes need no CAB rule" or "storefront's medium-risk changes
    need CAB", with the figures that led to it. A compliance officer applies it (the approval
    policy changes and a new version is published) or dismisses it, with a reason."""

    scope = models.CharField(max_length=120, help_text='"team:<slug>" or "domain:<name>".')
    direction = models.CharField(max_length=10, choices=SuggestionDirection.choices)
    status = models.CharField(
        max_length=10,
        choices=SuggestionStatus.choices,
        default=SuggestionStatus.OPEN,
        db_index=True,
    )
    summary = models.CharField(max_length=300)
    evidence = models.JSONField(default=dict, help_text="Figures, thresholds and period.")
    change = models.JSONField(default=dict, help_text="The rule change applying it makes.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    policy_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-created", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "direction"],
                condition=models.Q(status="open"),
                name="one_open_suggestion_per_scope",
            )
        ]

    def __str__(self):
        return self.summary

    def get_absolute_url(self):
        return reverse("policy_suggestion_list") + f"#suggestion-{self.pk}"
