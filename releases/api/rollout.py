"""Deployment targets and rollout decisions (curriculum 5.2 auto-halt, 5.4 partial failures).

- ``GET /api/v1/deployment-targets/?deployment=&status=&name=``: which node runs which version.
- ``GET /api/v1/rollout-decisions/?deployment=&kind=``: retries, roll-backs, acceptances and
  smoke-test halt overrides, with who and why.
- ``POST /api/v1/deployments/{id}/retry-failed/`` ``{reason?}``,
  ``.../rollback-succeeded/`` ``{reason?}``, ``.../accept-partial/`` ``{reason}`` (partially
  failed deployments only, else 409), ``.../override-halt/`` ``{reason}`` (a deployment with an
  unresolved failed smoke test, else 409).
"""

from __future__ import annotations

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from releasemgr.api.permissions import HasPermission
from releases import rollout
from releases.api.serializers import DeploymentSerializer
from releases.models import Deployment
from releases.models.targets import (
    DeploymentTarget,
    RolloutDecision,
    RolloutDecisionKind,
    TargetStatus,
)


class DeploymentTargetFilterSet(django_filters.FilterSet):
    deployment = django_filters.ModelChoiceFilter(
        queryset=Deployment.objects.all(), help_text="Deployment id."
    )
    status = django_filters.MultipleChoiceFilter(choices=TargetStatus.choices)
    name = django_filters.CharFilter(lookup_expr="icontains")
    release = django_filters.CharFilter(field_name="deployment__release__key")

    class Meta:
        model = DeploymentTarget
        fields = ["deployment", "status", "name", "release"]


class RolloutDecisionFilterSet(django_filters.FilterSet):
    deployment = django_filters.ModelChoiceFilter(
        queryset=Deployment.objects.all(), help_text="Deployment id."
    )
    kind = django_filters.MultipleChoiceFilter(choices=RolloutDecisionKind.choices)
    release = django_filters.CharFilter(field_name="deployment__release__key")

    class Meta:
        model = RolloutDecision
        fields = ["deployment", "kind", "release"]


class DeploymentTargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeploymentTarget
        fields = [
            "id",
            "deployment",
            "name",
            "kind",
            "status",
            "version",
            "previous_version",
            "attempts",
            "last_message",
            "declared",
            "created",
            "updated",
        ]
        read_only_fields = fields


class RolloutDecisionSerializer(serializers.ModelSerializer):
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = RolloutDecision
        fields = ["id", "deployment", "kind", "reason", "decided_by", "subjects", "created"]
        read_only_fields = fields


class DeploymentTargetViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = DeploymentTarget.objects.all()
    serializer_class = DeploymentTargetSerializer
    filterset_class = DeploymentTargetFilterSet
    ordering_fields = ["name", "updated", "status"]


class RolloutDecisionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = RolloutDecision.objects.select_related("decided_by")
    serializer_class = RolloutDecisionSerializer
    filterset_class = RolloutDecisionFilterSet
    ordering_fields = ["created"]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Why (recorded)."
    )


class RequiredReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000,
        help_text="Why (required, recorded).",
        error_messages={
            "required": "Give a reason: it is recorded with the decision.",
            "blank": "Give a reason: it is recorded with the decision.",
        },
    )


class DeploymentWithTargetsSerializer(DeploymentSerializer):
    targets = DeploymentTargetSerializer(many=True, read_only=True)

    class Meta(DeploymentSerializer.Meta):
        fields = [*DeploymentSerializer.Meta.fields, "targets"]
        read_only_fields = fields


def _action_view(name: str, permission: str, body, doc: str):
    decide = rollout.ACTIONS[name]

    class _View(APIView):
        permission_classes = [HasPermission.of(permission)]

        @extend_schema(
            request=body,
            responses={200: DeploymentWithTargetsSerializer},
            description=doc,
            operation_id=f"deployments_{name.replace('-', '_')}",
        )
        def post(self, request, pk):
            deployment = get_object_or_404(Deployment, pk=pk)
            data = body(data=request.data)
            data.is_valid(raise_exception=True)
            decide(deployment, request.user, data.validated_data.get("reason", ""))
            fresh = Deployment.objects.select_related("release", "environment", "started_by").get(
                pk=pk
            )
            return Response(
                DeploymentWithTargetsSerializer(fresh, context={"request": request}).data
            )

    _View.__name__ = f"{name.title().replace('-', '')}View"
    return _View


RetryFailedView = _action_view(
    "retry-failed",
    rollout.DECIDE_PERMISSION,
    ReasonSerializer,
    "Partially failed deployment: failed targets go back to pending (one more attempt) and the "
    "deployment runs again; the pipeline then reports their node results. 409 otherwise.",
)
RollbackSucceededView = _action_view(
    "rollback-succeeded",
    rollout.DECIDE_PERMISSION,
    ReasonSerializer,
    "Partially failed deployment: succeeded targets go back to their previous version; the "
    "deployment (and a production release) is rolled back. 409 otherwise.",
)
AcceptPartialView = _action_view(
    "accept-partial",
    rollout.DECIDE_PERMISSION,
    RequiredReasonSerializer,
    "Accept a partially failed deployment as it stands (reason required); it stays "
    "partially_failed and counts as finished. 409 if not partially failed or already accepted.",
)
OverrideHaltView = _action_view(
    "override-halt",
    rollout.OVERRIDE_PERMISSION,
    RequiredReasonSerializer,
    "Override the unresolved failed smoke tests of a deployment (reason required): a halted "
    "deployment resumes and the gate's smoke_tests check passes naming the override. 409 when "
    "no smoke test failed.",
)


def register(router) -> None:
    router.register("deployment-targets", DeploymentTargetViewSet)
    router.register("rollout-decisions", RolloutDecisionViewSet)


def _path(suffix, view, name):
    from django.urls import path

    return path(f"deployments/<int:pk>/{suffix}/", view.as_view(), name=name)


urlpatterns = [
    _path("retry-failed", RetryFailedView, "deployment-retry-failed"),
    _path("rollback-succeeded", RollbackSucceededView, "deployment-rollback-succeeded"),
    _path("accept-partial", AcceptPartialView, "deployment-accept-partial"),
    _path("override-halt", OverrideHaltView, "deployment-override-halt"),
]
