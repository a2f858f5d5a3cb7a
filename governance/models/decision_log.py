"""The append-only, hash-chained decision log (``governance.decision_log`` writes it)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from governance.choices import DecisionKind


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove a decision-log entry."""


class DecisionRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Decision-log entries cannot be changed.")

    def delete(self):
        raise AppendOnlyError("Decision-log entries cannot be deleted.")

    def bulk_create(self, *args, **kwargs):
        raise AppendOnlyError(
            "Decision-log entries are written one by one, by governance.decision_log.append()."
        )

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyError("Decision-log entries cannot be changed.")


class DecisionRecord(models.Model):
    """One decision, as it was taken: who, what, why, and the hash of the one before.

    ``entry_hash`` is SHA-256 over the canonical JSON of this entry's content
    and ``previous_hash``; ``governance.decision_log.verify`` recomputes the
    chain and reports the first entry that does not match.
    """

    sequence = models.PositiveBigIntegerField(unique=True, editable=False)
    recorded_at = models.DateTimeField(editable=False)
    kind = models.CharField(max_length=20, choices=DecisionKind.choices, db_index=True)
    outcome = models.CharField(max_length=40, help_text="e.g. approved, refused, allowed.")
    summary = models.TextField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    release_key = models.CharField(max_length=32, blank=True, db_index=True)
    subject = models.CharField(
        max_length=200, blank=True, help_text="The record decided on, e.g. 'freeze-exception:12'."
    )
    reasons = models.JSONField(default=list)
    data = models.JSONField(default=dict)
    previous_hash = models.CharField(max_length=64, editable=False)
    entry_hash = models.CharField(max_length=64, unique=True, editable=False)

    objects = DecisionRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-sequence"]

    def __str__(self):
        return f"#{self.sequence} {self.get_kind_display()}: {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self.entry_hash:
            raise AppendOnlyError(
                "Decision-log entries are written once, by governance.decision_log.append()."
            )
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("decision_record_detail", args=[self.sequence])

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Decision-log entries cannot be deleted.")

    def subject_object(self):
        """The record ``subject`` names (``"freeze-exception:12"`` → that FreezeException),
        or None when it names no model of ours or the record is gone."""
        from django.apps import apps

        prefix, _, pk = self.subject.partition(":")
        name = prefix.replace("-", "").replace("_", "").lower()
        if not name or not pk:
            return None
        for label in ("governance", "releases", "scheduling", "metrics", "releasemgr"):
            try:
                model = apps.get_model(label, name)
            except LookupError:
                continue
            try:
                return model._default_manager.filter(pk=pk).first()
            except (ValueError, TypeError, ValidationError):
                return None
        return None


class ChainHead(models.Model):
    """The single row locked while appending, so concurrent appends form one chain."""

    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"Decision log head #{self.last_sequence}"
