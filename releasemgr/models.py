"""Shared model pieces and the API token model."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from releasemgr.rates import validate_rate


class HistoryViaBase(models.Model):
    """Extra column on every history row: which API token made the change, if any."""

    history_via = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        abstract = True


class BaseModel(models.Model):
    """Every domain object: timestamps and a full change history (who, when, what, why)."""

    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(inherit=True, bases=[HistoryViaBase])

    class Meta:
        abstract = True

    def save_with_reason(self, reason: str, user=None, **kwargs):
        """Save, recording why (and by whom) on the history row."""
        self._change_reason = reason
        if user is not None and getattr(user, "is_authenticated", False):
            self._history_user = user
        self.save(**kwargs)


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiToken(BaseModel):
    """A key a pipeline or script presents as ``Authorization: Token <key>``.

    Only the SHA-256 of the key is stored; the key itself is shown once, when
    the token is issued. A revoked token stays listed for the audit trail.
    """

    PREFIX_LENGTH = 8

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What this token is for, e.g. 'GitLab CI'.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    rate_limit = models.CharField(
        max_length=20,
        blank=True,
        validators=[validate_rate],
        help_text="Requests allowed for this token, e.g. 6000/hour; blank for API_RATE_LIMIT.",
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        permissions = [("manage_all_tokens", "Can issue and revoke tokens for any user")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def get_absolute_url(self):
        return reverse("token_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def issue(cls, user, name: str, created_by=None) -> tuple["ApiToken", str]:
        """Create a token and return it with the clear key (the only time it exists)."""
        key = secrets.token_urlsafe(32)
        token = cls(
            user=user,
            name=name,
            prefix=key[: cls.PREFIX_LENGTH],
            key_hash=hash_token(key),
            created_by=created_by,
        )
        token.save_with_reason("issued", user=created_by)
        return token, key

    def revoke(self, by=None):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.revoked_by = by
            self.save_with_reason("revoked", user=by)


class JobRun(models.Model):
    """One run of a background job, so the UI can show what ran, when, and how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=100, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # Set for runs sent by beat (releasemgr.jobs): one run per job and period, however many
    # beat schedulers sent it. Null for runs started by hand or by a request.
    period_start = models.DateTimeField(null=True, blank=True)
    # The Celery message this run belongs to: a redelivery (worker died) or a retry of the same
    # message takes this row over and counts one more attempt.
    task_id = models.CharField(max_length=255, blank=True, db_index=True)
    attempt = models.PositiveIntegerField(default=1)
    hostname = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "period_start"], name="unique_job_run_period")
        ]
        indexes = [models.Index(fields=["name", "-started_at"], name="job_run_name_started")]

    def __str__(self):
        return f"{self.name} {self.status} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        """How long the run took (a timedelta), or None while it runs."""
        return self.finished_at - self.started_at if self.finished_at else None


class Notification(models.Model):
    """Something a person should know (a window now blocks their deployment, a patch is due).

    ``dedupe_key`` makes senders idempotent: the same event never notifies twice.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=50)
    message = models.TextField()
    link = models.CharField(max_length=300, blank=True)
    dedupe_key = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["user", "dedupe_key"], name="unique_notification")
        ]

    def __str__(self):
        return self.message[:80]


from releasemgr import models_notify  # noqa: E402, F401
from releasemgr.idempotency_models import IdempotentRequest  # noqa: E402, F401
from releasemgr.models_harden import LoginAttempt, UserSession  # noqa: E402, F401
from releasemgr.models_oidc import SSOIdentity  # noqa: E402, F401
