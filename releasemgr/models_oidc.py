"""The link between a user and their identity at the single sign-on provider (issue 8).

Rules live in ``releasemgr.sso``; this is the row it reads and writes.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from releasemgr.models import BaseModel


class SSOIdentity(BaseModel):
    """Who a user is at the OpenID Connect provider, and what the provider last said.

    Found by (issuer, subject), never by a name or an address that could be re-used. A user
    with an identity is IdP-managed: at every sign-in their roles become exactly the roles
    their groups map to (``roles_from_idp``). The history rows are the audit trail of SSO
    sign-ins and of the role changes each one made (the change reason says which); ``created``
    is the first sign-in.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    claimed_groups = models.JSONField(
        default=list, blank=True, help_text="The groups claim of the last sign-in."
    )
    roles_from_idp = models.JSONField(
        default=list, blank=True, help_text="The roles those groups mapped to (all the user has)."
    )
    last_login_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "SSO identity"
        verbose_name_plural = "SSO identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_issuer_sub")
        ]

    def __str__(self):
        return f"{self.user} = {self.subject} at {self.issuer}"
