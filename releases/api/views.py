from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from releasemgr import idempotency
from releasemgr.api.permissions import HasPermission
from releasemgr.api.viewsets import BaseModelViewSet
from releases import gate, impact, lifecycle
from releases.api import serializers as s
from releases.filtersets import (
    DeploymentFilterSet,
    GateDecisionFilterSet,
    ReleaseFilterSet,
    ScopeItemFilterSet,
    ServiceDependencyFilterSet,
    ServiceFilterSet,
    TeamFilterSet,
)
from releases.models import (
    Deployment,
    GateDecision,
    Release,
    ScopeItem,
    Service,
    ServiceDependency,
    Team,
)


class TeamViewSet(BaseModelViewSet):
    queryset = Team.objects.all()
    serializer_class = s.TeamSerializer
    filterset_class = TeamFilterSet
    lookup_field = "slug"
    ordering_fields = ["name", "slug"]


class ServiceViewSet(BaseModelViewSet):
    queryset = Service.objects.select_related("team").prefetch_related(
        "owners",
        "dependencies",
        Prefetch(
            "dependency_links", queryset=ServiceDependency.objects.select_related("depends_on")
        ),
    )
    serializer_class = s.ServiceSerializer
    filterset_class = ServiceFilterSet
    lookup_field = "slug"
    ordering_fields = ["name", "slug", "tier", "recovery_sla_minutes"]


class ServiceDependencyViewSet(BaseModelViewSet):
    queryset = ServiceDependency.objects.select_related("service", "depends_on")
    serializer_class = s.ServiceDependencySerializer
    filterset_class = ServiceDependencyFilterSet


class ReleaseViewSet(BaseModelViewSet):
    queryset = Release.objects.with_related()
    serializer_class = s.ReleaseSerializer
    filterset_class = ReleaseFilterSet
    lookup_field = "key"
    ordering_fields = ["key", "planned_start", "created", "state"]

    @property
    def atomic_writes(self):
        # approve/reject: the lifecycle owns the transaction, so a segregation-of-duties
        # refusal stays in the decision log while the refused request writes nothing else.
        return getattr(self, "action_map", {}).get("post") not in ("approve", "reject")

    def required_permission(self):
        return {
            "submit": "releases.submit_release",
            "withdraw": "releases.submit_release",
            "approve": "governance.approve_release",
            "reject": "governance.approve_release",
            "reopen": "releases.change_release",
            "cancel": "releases.cancel_release",
            "close": "releases.close_release",
            "impact": "releases.view_release",
        }.get(self.action)

    def perform_destroy(self, instance):
        lifecycle.ensure_editable(instance)
        instance.delete()

    def _transition(self, request, key, action_name):
        release = self.get_object()
        body = s.TransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated = lifecycle.transition(
            release, action_name, request.user, body.validated_data["comment"]
        )
        fresh = self.get_queryset().get(pk=updated.pk)
        return Response(self.get_serializer(fresh).data)

    @extend_schema(request=s.TransitionSerializer, responses={200: s.ReleaseSerializer})
    @action(detail=True, methods=["post"])
    def submit(self, request, key=None):
        """Submit a draft for approval (409 from any other state)."""
        return self._transition(request, key, "submit")

    @extend_schema(request=s.TransitionSerializer, responses={200: s.ReleaseSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, key=None):
        """Pull a submitted release back to draft."""
        return self._transition(request, key, "withdraw")

    @extend_schema(request=s.TransitionSerializer, responses={200: s.ReleaseSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, key=None):
        """Approve as a CAB member who did not author or contribute to the release."""
        return self._transition(request, key, "approve")

    @extend_schema(request=s.TransitionSerializer, responses={200: s.ReleaseSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, key=None):
        return self._transition(request, key, "reject")

    @extend_schema(request=s.TransitionSerializer, responses={200: s.ReleaseSerializer})
    @action(detail=True, methods=["post"])
    def reopen(self, request, key=None):
        """Turn a rejected release back into an editable draft."""
        return self._transition(request, key, "reopen")

    @extend_schema(request=s.TransitionSerializer, responses={200: s.ReleaseSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, key=None):
        return self._transition(request, key, "cancel")

    @extend_schema(request=s.TransitionSerializer, responses={200: s.ReleaseSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request, key=None):
        return self._transition(request, key, "close")

    @extend_schema(responses={200: s.ImpactSerializer})
    @action(detail=True, methods=["get"])
    def impact(self, request, key=None):
        """Services changed by the release and those transitively affected; the classification."""
        return Response(impact.release_impact(self.get_object()).as_dict())


class ScopeItemViewSet(BaseModelViewSet):
    queryset = ScopeItem.objects.select_related("release", "service", "contributor")
    serializer_class = s.ScopeItemSerializer
    filterset_class = ScopeItemFilterSet
    ordering_fields = ["created", "title", "kind", "decision"]

    def perform_destroy(self, instance):
        lifecycle.ensure_editable(instance.release)
        instance.delete()


class DeploymentViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Deployment.objects.select_related("release", "environment", "started_by")
    serializer_class = s.DeploymentSerializer
    filterset_class = DeploymentFilterSet
    ordering_fields = ["started_at", "finished_at"]

    def required_permission(self):
        if self.action in ("create", "events") and self.request.method == "POST":
            return "releases.deploy_release"
        return None

    @extend_schema(
        request=s.DeploymentCreateSerializer,
        responses={
            201: s.DeploymentSerializer,
            200: s.DeploymentSerializer,
            422: idempotency.KEY_REUSED,
        },
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)
        ],
    )
    def create(self, request, *args, **kwargs):
        """Start a deployment: the gate is re-checked atomically; 409 with the failing checks if not allowed.

        A repeated ``Idempotency-Key`` with the same body gets the first answer; with another body, 422.
        """
        return idempotency.respond(request, "deployments", lambda: self._start(request))

    def _start(self, request):
        body = s.DeploymentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        deployment, created = lifecycle.start_deployment(
            data["release"],
            data["environment"],
            request.user,
            strategy=data.get("strategy", ""),
            pipeline_url=data.get("pipeline_url", ""),
            commit=data.get("commit", ""),
            commits=data.get("commits") or [],
            region=data.get("region"),
            override_reason=data.get("reason", ""),
            idempotency_key=request.headers.get("Idempotency-Key", "")[:100],
            canary_steps=data.get("canary_steps"),
        )
        out = s.DeploymentSerializer(deployment, context=self.get_serializer_context()).data
        return Response(out, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        methods=["post"],
        request=s.DeploymentEventCreateSerializer,
        responses={201: s.DeploymentEventSerializer, 422: idempotency.KEY_REUSED},
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)
        ],
    )
    @extend_schema(methods=["get"], responses={200: s.DeploymentEventSerializer(many=True)})
    @action(detail=True, methods=["get", "post"])
    def events(self, request, pk=None):
        """Node, smoke and health results, and the final succeeded/failed/halted/rolled_back.

        Targets: `plan` declares them (`target`: names, comma-separated; after a plan a node
        result for another name is a 400); `node` reports one (`target`, `status` ok / failed /
        info = still running, optional `version`); a result for a finished target or deployment
        is a 409. Mixed node results make the deployment `partially_failed`. A failed `smoke`
        (`target` = test name) halts a running deployment at once.
        """
        deployment = self.get_object()
        if request.method == "GET":
            events = deployment.events.select_related("actor")
            page = self.paginate_queryset(events)
            return self.get_paginated_response(s.DeploymentEventSerializer(page, many=True).data)
        return idempotency.respond(
            request,
            f"deployments/{deployment.pk}/events",
            lambda: self._record_event(request, deployment),
        )

    def _record_event(self, request, deployment):
        body = s.DeploymentEventCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        event = lifecycle.record_event(deployment, request.user, **body.validated_data)
        return Response(s.DeploymentEventSerializer(event).data, status=status.HTTP_201_CREATED)


class GateView(APIView):
    permission_classes = [HasPermission.of("releases.query_gate")]

    @extend_schema(request=s.GateRequestSerializer, responses={200: s.GateResponseSerializer})
    def post(self, request):
        """May this service version deploy to this environment right now? Every answer is recorded."""
        body = s.GateRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = gate.ask(
            data["service"],
            data["version"],
            data["environment"],
            request.user,
            region=data.get("region"),
            override_reason=data.get("reason", ""),
        )
        return Response(
            {
                "status": result.status,
                "allowed": result.allowed,
                "decision_id": str(result.record.pk),
                "release": result.release.key if result.release else None,
                "checks": result.checks,
                "retry_after": result.retry_after.isoformat() if result.retry_after else None,
            }
        )


class GateDecisionViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = GateDecision.objects.select_related("release", "requested_by")
    serializer_class = s.GateDecisionSerializer
    filterset_class = GateDecisionFilterSet
    ordering_fields = ["created"]
