from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from releasemgr.models import ApiToken, JobRun


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
