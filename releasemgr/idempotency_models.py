"""The stored answers of pipeline POSTs sent with an ``Idempotency-Key`` header."""

from django.conf import settings
from django.db import models


class IdempotentRequest(models.Model):
    """One pipeline request with an ``Idempotency-Key``: its body's fingerprint and its answer.

    Written in the same transaction as the work it answers, so it exists exactly when the
    work does; a repeat of the key gets this answer back (append-only, no history).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=200, help_text="e.g. deployments, deployments/7/events")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON body.")
    status_code = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "endpoint", "key"], name="unique_idempotent_request"
            )
        ]

    def __str__(self):
        return f"{self.endpoint} {self.key} → {self.status_code}"
