from rest_framework import viewsets

from governance.api.serializers import ApprovalSerializer
from governance.filtersets import ApprovalFilterSet
from governance.models import Approval


class ApprovalViewSet(viewsets.ReadOnlyModelViewSet):
    """Approvals are given through ``POST /releases/{key}/approve/`` and ``.../reject/``."""

    queryset = Approval.objects.select_related("release", "approver")
    serializer_class = ApprovalSerializer
    filterset_class = ApprovalFilterSet
    ordering_fields = ["created"]
