from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from governance.models import Approval


@admin.register(Approval)
class ApprovalAdmin(SimpleHistoryAdmin):
    list_display = ["release", "approver", "decision", "role", "round", "created"]

    def has_change_permission(self, request, obj=None):
        return False  # approvals are given through the release lifecycle
