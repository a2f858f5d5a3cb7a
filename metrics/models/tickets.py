"""Customer support tickets, triaged against the deployment timeline (ticket triage, 6.5)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from releasemgr.models import BaseModel


class TicketClassification(models.TextChoices):
    RELEASE_RELATED = "release_related", "Release-related"
    PRE_EXISTING = "pre_existing", "Pre-existing"
    UNCLEAR = "unclear", "Unclear"


class TicketSentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"


class SupportTicket(BaseModel):
    """A customer's support ticket about a service, imported from the help desk.

    ``metrics.triage.classify`` says whether it follows a production deployment of the service
    (release-related), was seen before that deployment (pre-existing), or cannot be told
    (unclear); ``evidence`` keeps the reasons shown to people. A release manager or deployer
    may override the classification with a reason; a later re-triage keeps an override.
    Subject and text are redacted before they are saved (customers paste tokens too).
    """

    external_id = models.CharField(
        max_length=100, unique=True, help_text="The help desk's ticket id."
    )
    service = models.ForeignKey(
        "releases.Service", on_delete=models.PROTECT, related_name="support_tickets"
    )
    opened_at = models.DateTimeField(db_index=True)
    subject = models.CharField(max_length=300)
    text = models.TextField(blank=True)
    rating = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Customer satisfaction 1 (worst) to 5 (best), if the help desk has one.",
    )
    sentiment = models.CharField(max_length=10, choices=TicketSentiment.choices, blank=True)
    source = models.CharField(
        max_length=100, blank=True, help_text="Help desk or import (api, csv, command)."
    )
    classification = models.CharField(
        max_length=20, choices=TicketClassification.choices, default=TicketClassification.UNCLEAR
    )
    attributed_release = models.ForeignKey(
        "releases.Release",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="support_tickets",
    )
    attributed_deployment = models.ForeignKey(
        "releases.Deployment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="support_tickets",
    )
    evidence = models.JSONField(
        default=list, blank=True, help_text="The triage reasons: [{code, passed, message, data}]."
    )
    classified_at = models.DateTimeField(null=True, blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    override_reason = models.TextField(blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [models.Index(fields=["service", "opened_at"], name="ticket_service_opened")]

    def __str__(self):
        return f"{self.external_id}: {self.subject[:60]}"

    def get_absolute_url(self):
        return reverse("support_ticket_detail", args=[self.pk])

    @property
    def is_overridden(self) -> bool:
        return self.overridden_by_id is not None
