"""Records behind login lock-out and server-side sessions (issue 8, limits and hardening).

Rules live in ``releasemgr.security``; these are the rows they read and write.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone


class LoginOutcome(models.TextChoices):
    FAILED = "failed", "Failed"
    SUCCEEDED = "succeeded", "Succeeded"
    LOCKED = "locked", "Refused while locked"
    UNLOCKED = "unlocked", "Unlocked by an administrator"


class LoginAttempt(models.Model):
    """One try at the web sign-in form (append-only log, no history).

    The username is kept as typed (lower-cased), whether or not such a user exists, so the
    lock-out treats every name alike and tells an attacker nothing. A successful sign-in or
    an administrator's unlock ends the run of failures that counts towards a lock-out.
    """

    username = models.CharField(max_length=150)
    ip = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=LoginOutcome.choices)
    at = models.DateTimeField(default=timezone.now)
    # Who lifted the lock (an "unlocked" row written from the Sign-ins page); None from the
    # command line and for every other outcome.
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["username", "-at"], name="login_attempt_user_at"),
            models.Index(fields=["ip", "-at"], name="login_attempt_ip_at"),
            models.Index(fields=["at"], name="login_attempt_at"),  # retention, the list
        ]

    def __str__(self):
        return f"{self.username} {self.outcome} at {self.at:%Y-%m-%d %H:%M:%S}"


class UserSession(AbstractBaseSession):
    """A web session (``SESSION_ENGINE = "releasemgr.security"``) that knows its user.

    Django's own session table stores the user only inside the encoded data; keeping the
    user's pk in an indexed column lets deactivating a user end all their sessions with one
    DELETE. Not a foreign key: a session outlives nothing, and a deleted user's sessions
    simply stop authenticating.
    """

    user_pk = models.CharField(max_length=64, null=True, blank=True, db_index=True)

    class Meta(AbstractBaseSession.Meta):
        db_table = "releasemgr_user_session"

    @classmethod
    def get_session_store_class(cls):
        from releasemgr.security import SessionStore

        return SessionStore


@receiver(post_save, sender=get_user_model(), dispatch_uid="harden_end_sessions_of_inactive")
def end_sessions_of_inactive_user(sender, instance, **kwargs):
    # Every save path (admin, management command, SSO sync) goes through here; queryset
    # .update() does not, which is why deactivate_user uses save().
    if not instance.is_active:
        from releasemgr.security import end_user_sessions

        end_user_sessions(instance)


@receiver(user_logged_in, dispatch_uid="harden_start_session_clock")
def start_session_clock(sender, request, user, **kwargs):
    from releasemgr.security import start_session_clock

    start_session_clock(request)
