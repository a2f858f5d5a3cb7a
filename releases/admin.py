from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from releases.models import (
    Deployment,
    GateDecision,
    Release,
    ScopeItem,
    Service,
    ServiceDependency,
    Team,
)

admin.site.register(Team, SimpleHistoryAdmin)
admin.site.register(ServiceDependency, SimpleHistoryAdmin)
admin.site.register(ScopeItem, SimpleHistoryAdmin)


@admin.register(Service)
class ServiceAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "team", "tier", "customer_facing", "ha_required"]
    list_filter = ["team", "tier", "customer_facing"]
    search_fields = ["name", "slug"]


@admin.register(Release)
class ReleaseAdmin(SimpleHistoryAdmin):
    """State changes only through releases.lifecycle: the admin shows it read-only."""

    list_display = ["key", "name", "version", "state", "kind", "change_type", "planned_start"]
    list_filter = ["state", "kind", "change_type"]
    search_fields = ["key", "name"]
    readonly_fields = ["key", "state", "author", "approval_round"]


@admin.register(Deployment)
class DeploymentAdmin(SimpleHistoryAdmin):
    list_display = ["id", "release", "environment", "status", "started_at", "finished_at"]
    list_filter = ["status", "environment"]
    readonly_fields = ["status"]


@admin.register(GateDecision)
class GateDecisionAdmin(admin.ModelAdmin):
    list_display = ["created", "service_slug", "version", "environment_slug", "status"]
    list_filter = ["status"]

    def has_change_permission(self, request, obj=None):
        return False  # decisions are an append-only record
