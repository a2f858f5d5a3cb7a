"""Notifications: the page listing mine, marking them read, and the same in the API.

Everyone with a role sees their own notifications and nobody else's (a
signed-in user without a role is refused, as on every page).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import ListView
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from releasemgr import notifications
from releasemgr.api.permissions import HasPermission
from releasemgr.models import JobRun, Notification
from releasemgr.notifications import kind_label
from releasemgr.web import RoleRequiredMixin, paginate

# The background job whose runs the page shows.
WATCH_JOB = "freeze_check"
RECENT_RUNS = 5
# Every role holds it (view_* on every domain model).
VIEW = "releasemgr.view_notification"
# The badge colour of the kinds that call for action or bring good news; others are grey.
BADGE_CLASSES = {
    "window_opened": "text-bg-danger",
    "window_closed": "text-bg-success",
    "release_blocked": "text-bg-warning",
    "patch_overdue": "text-bg-danger",
    "patch_at_risk": "text-bg-warning",
    "smoke_test_failed": "text-bg-danger",
    "deployment_partially_failed": "text-bg-danger",
    "incident": "text-bg-danger",
    "kpi_alert": "text-bg-warning",
    "stabilisation_closed": "text-bg-success",
    "defect_escalated": "text-bg-warning",
    "postmortem_action_overdue": "text-bg-warning",
    "retrospective_overdue": "text-bg-warning",
    "deadline_missed": "text-bg-danger",
    "compliance_deadline_missed": "text-bg-danger",
}


class NotificationListView(RoleRequiredMixin, ListView):
    """My notifications, unread first, with the last runs of the job that sends most of them."""

    permission_required = VIEW
    template_name = "notifications/notification_list.html"

    def get_queryset(self):
        queryset = notifications.for_user(self.request.user)
        if self.request.GET.get("show") == "unread":
            queryset = queryset.filter(read_at__isnull=True)
        return queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        page = paginate(self.request, self.object_list)
        for notification in page:  # the page holds its rows as a list once iterated
            # The same words as the Notification settings page and the chat messages.
            notification.kind_label = kind_label(notification.kind)
            notification.badge_class = BADGE_CLASSES.get(notification.kind, "text-bg-secondary")
        context["page"] = page
        context["show"] = self.request.GET.get("show", "")
        context["unread"] = notifications.unread_count(user)
        if user.has_perm("releasemgr.view_jobrun"):
            context["job_runs"] = list(JobRun.objects.filter(name=WATCH_JOB)[:RECENT_RUNS])
        return context


def _back(request, fallback: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(fallback)


class NotificationReadView(RoleRequiredMixin, View):
    """POST: mark one of my notifications read (someone else's is not found)."""

    permission_required = VIEW

    def post(self, request, pk):
        try:
            notifications.mark_read(request.user, pk)
        except Notification.DoesNotExist:
            raise Http404("No such notification.") from None
        return _back(request, "notification_list")


class NotificationReadAllView(RoleRequiredMixin, View):
    permission_required = VIEW

    def post(self, request):
        count = notifications.mark_all_read(request.user)
        messages.success(request, f"{count} notification(s) marked as read.")
        return _back(request, "notification_list")


# --- API ------------------------------------------------------------------------------------


class NotificationSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "message", "link", "created", "read_at", "read"]
        read_only_fields = fields

    def get_read(self, obj) -> bool:
        return obj.read_at is not None


class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Your own notifications (unread first). ``?unread=true`` lists only the unread ones."""

    serializer_class = NotificationSerializer
    permission_classes = [HasPermission.of(VIEW)]
    filter_backends: list = []
    queryset = Notification.objects.none()  # for the schema; get_queryset is per user

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        queryset = notifications.for_user(self.request.user)
        if self.request.query_params.get("unread", "").lower() in ("1", "true", "yes"):
            queryset = queryset.filter(read_at__isnull=True)
        return queryset

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark this notification read."""
        notification = self.get_object()
        notification = notifications.mark_read(request.user, notification.pk)
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "NotificationsMarkedRead", {"marked": serializers.IntegerField()}
        ),
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        """Mark all your notifications read."""
        return Response({"marked": notifications.mark_all_read(request.user)})
