from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from releasemgr.models import ApiToken, JobRun
from releasemgr.security import AdminLoginForm

# The admin's sign-in is locked out like the main one (releasemgr.security).
admin.site.login_form = AdminLoginForm


@admin.register(ApiToken)
class ApiTokenAdmin(SimpleHistoryAdmin):
    list_display = ["name", "user", "prefix", "created", "last_used_at", "revoked_at"]
    readonly_fields = [
        "prefix",
        "key_hash",
        "last_used_at",
        "revoked_at",
        "revoked_by",
        "created_by",
    ]

    def has_add_permission(self, request):
        return False  # issued through the UI or `manage.py issue_token`, never typed in


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "started_at", "finished_at"]
    list_filter = ["name", "status"]


# --- Single sign-on (issue 8): who signed in through the provider, and with which roles ---
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils.html import format_html  # noqa: E402

from releasemgr.models_oidc import SSOIdentity  # noqa: E402


@admin.register(SSOIdentity)
class SSOIdentityAdmin(SimpleHistoryAdmin):
    """Written only by sign-ins; the History button is the audit of sign-ins and role changes."""

    list_display = ["user", "subject", "roles_from_idp", "last_login_at"]
    search_fields = ["user__username", "subject"]
    readonly_fields = [
        "user",
        "issuer",
        "subject",
        "claimed_groups",
        "roles_from_idp",
        "created",
        "last_login_at",
    ]

    def has_add_permission(self, request):
        return False


_User = get_user_model()
admin.site.unregister(_User)


@admin.register(_User)
class UserAdmin(DjangoUserAdmin):
    # Read-only, so the change form posts exactly what it did before.
    fieldsets = [*DjangoUserAdmin.fieldsets, ("Single sign-on", {"fields": ["sso_sign_in"]})]
    readonly_fields = [*DjangoUserAdmin.readonly_fields, "sso_sign_in"]

    @admin.display(description="Last SSO sign-in / roles from the identity provider")
    def sso_sign_in(self, user):
        identity = SSOIdentity.objects.filter(user=user).first()
        if identity is None:
            return "Never signed in through single sign-on (a local account)."
        return format_html(
            '{} · roles from the IdP: {} · groups claimed: {} · <a href="{}">history</a>',
            identity.last_login_at.strftime("%Y-%m-%d %H:%M UTC"),
            ", ".join(identity.roles_from_idp) or "none",
            ", ".join(identity.claimed_groups) or "none",
            reverse("admin:releasemgr_ssoidentity_history", args=[identity.pk]),
        )
