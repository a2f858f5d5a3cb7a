"""``/api/v1/scope-change-requests/`` (+ ``accept``, ``decline``, ``withdraw``),
``/api/v1/tech-debt-estimates/``, ``GET /api/v1/releases/{key}/scope-advice/`` and
``GET /api/v1/maintenance-backlog/`` (+ ``POST .../{id}/take/``).

The rules are in ``releases.scope_changes``: an empty reason or a negative plan shift answers
400 with field errors and writes nothing; anyone but the release's product owner deciding, or
the requester deciding their own request, 403; deciding twice or accepting into a release
that is not editable, 409.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.defects import field_errors
from releasemgr.api.permissions import HasPermission
from releasemgr.api.viewsets import BaseModelViewSet
from releases import scope_changes
from releases.choices import ScopeKind
from releases.filtersets_scope_changes import (
    ScopeChangeRequestFilterSet,
    TechDebtEstimateFilterSet,
)
from releases.models import Release, ScopeChangeRequest, ScopeItem, Service, TechDebtEstimate
from releases.models.scope_changes import ScopeChangeKind
from scheduling.api.exceptions import RefusalSerializer


class ScopeChangeRequestSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    kind = serializers.ChoiceField(choices=ScopeChangeKind.choices)
    title = serializers.CharField(
        allow_blank=True,
        required=False,
        default="",
        max_length=200,
        help_text="Optional for a pull (the item's title).",
    )
    reason = serializers.CharField(allow_blank=True)
    plan_shift_days = serializers.IntegerField(
        default=0, help_text="Days the planned dates move if accepted (0 or more)."
    )
    item_kind = serializers.ChoiceField(choices=ScopeKind.choices, default=ScopeKind.FEATURE)
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    scope_item = serializers.PrimaryKeyRelatedField(
        queryset=ScopeItem.objects.all(),
        required=False,
        allow_null=True,
        help_text="For a pull: the item to pull. Once accepted: the item added or pulled.",
    )
    emergency_release = serializers.SlugRelatedField(
        slug_field="key", queryset=Release.objects.all(), required=False, allow_null=True
    )
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = ScopeChangeRequest
        fields = [
            "id",
            "release",
            "kind",
            "title",
            "reason",
            "impact_on_plan",
            "plan_shift_days",
            "item_kind",
            "service",
            "scope_item",
            "emergency_release",
            "status",
            "requested_by",
            "decided_by",
            "decided_at",
            "decision_note",
            "created",
            "updated",
        ]
        read_only_fields = ["status", "decided_at", "decision_note", "created", "updated"]

    def create(self, validated_data):
        data = dict(validated_data)
        release = data.pop("release")
        try:
            return scope_changes.request_change(release, self.context["request"].user, **data)
        except scope_changes.InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


DECIDE_SCHEMA = {
    "request": NoteSerializer,
    "responses": {
        200: ScopeChangeRequestSerializer,
        403: OpenApiResponse(
            RefusalSerializer, description="Not the product owner, or the requester."
        ),
        409: OpenApiResponse(RefusalSerializer, description="Already decided, or not editable."),
    },
}


@extend_schema_view(
    create=extend_schema(
        responses={
            201: ScopeChangeRequestSerializer,
            400: OpenApiResponse(description="Field errors."),
        }
    )
)
class ScopeChangeRequestViewSet(BaseModelViewSet):
    """Scope change requests: developers and release managers ask, the product owner decides."""

    queryset = ScopeChangeRequest.objects.select_related(
        "release", "service", "requested_by", "decided_by", "emergency_release"
    )
    serializer_class = ScopeChangeRequestSerializer
    filterset_class = ScopeChangeRequestFilterSet
    ordering_fields = ["created", "status"]
    http_method_names = ["get", "post", "head", "options"]

    def required_permission(self):
        if self.action in ("accept", "decline"):
            return scope_changes.DECIDE_PERMISSION
        if self.action == "withdraw":
            return "releases.view_scopechangerequest"
        return None

    def _decide(self, request, accept: bool):
        body = NoteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            decided = scope_changes.decide(
                self.get_object(), request.user, accept, body.validated_data["note"]
            )
        except scope_changes.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(self.get_serializer(self.get_queryset().get(pk=decided.pk)).data)

    @extend_schema(**DECIDE_SCHEMA)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """Accept: the item is added or pulled and the plan moves by ``plan_shift_days``."""
        return self._decide(request, True)

    @extend_schema(**DECIDE_SCHEMA)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """Decline with a note saying why."""
        return self._decide(request, False)

    @extend_schema(request=None, responses=DECIDE_SCHEMA["responses"])
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """The requester (or a release manager) takes back a pending request."""
        withdrawn = scope_changes.withdraw(self.get_object(), request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=withdrawn.pk)).data)


class TechDebtEstimateSerializer(serializers.ModelSerializer):
    scope_item = serializers.PrimaryKeyRelatedField(
        queryset=ScopeItem.objects.select_related("release"),
        help_text="A tech-debt scope item.",
    )
    release = serializers.CharField(source="scope_item.release.key", read_only=True)
    title = serializers.CharField(source="scope_item.title", read_only=True)

    class Meta:
        model = TechDebtEstimate
        fields = [
            "id",
            "scope_item",
            "release",
            "title",
            "effort_days",
            "risk_reduction",
            "notes",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    def validate(self, attrs):
        instance = TechDebtEstimate(**{**self._current(), **attrs})
        try:
            instance.full_clean(validate_unique=False)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs

    def _current(self) -> dict:
        if self.instance is None:
            return {}
        return {
            f: getattr(self.instance, f)
            for f in ("scope_item", "effort_days", "risk_reduction", "notes")
        }

    def save(self, **kwargs):
        user = self.context["request"].user
        instance = self.instance or TechDebtEstimate()
        for name, value in self.validated_data.items():
            setattr(instance, name, value)
        instance.save_with_reason(
            "estimated" if self.instance is None else "re-estimated", user=user
        )
        self.instance = instance
        return instance


class TechDebtEstimateViewSet(BaseModelViewSet):
    """Effort (days) and risk reduction (1-5) of tech-debt scope items."""

    queryset = TechDebtEstimate.objects.select_related("scope_item__release")
    serializer_class = TechDebtEstimateSerializer
    filterset_class = TechDebtEstimateFilterSet
    ordering_fields = ["created", "effort_days", "risk_reduction"]


class ScopeOptionSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="ship_alone, fold_in or move_release.")
    passed = serializers.BooleanField(help_text="True for the advised option.")
    message = serializers.CharField()


class ScopeConflictSerializer(serializers.Serializer):
    fix = serializers.CharField()
    fix_release = serializers.CharField(allow_null=True)
    fix_request = serializers.IntegerField(allow_null=True)
    scheduled = serializers.CharField()
    services = serializers.ListField(child=serializers.CharField())
    options = ScopeOptionSerializer(many=True)


class TechDebtAdviceSerializer(serializers.Serializer):
    scope_item = serializers.IntegerField()
    title = serializers.CharField()
    effort_days = serializers.CharField(allow_null=True)
    risk_reduction = serializers.IntegerField(allow_null=True)
    recommendation = serializers.CharField(help_text="include or defer.")
    reasons = ScopeOptionSerializer(many=True)


class ScopeAdviceSerializer(serializers.Serializer):
    release = serializers.CharField()
    conflicts = ScopeConflictSerializer(many=True)
    tech_debt = TechDebtAdviceSerializer(many=True)


def _reasons(reasons) -> list[dict]:
    return [{"code": r.code, "passed": r.passed, "message": r.message} for r in reasons]


def scope_advice(release: Release) -> dict:
    return {
        "release": release.key,
        "conflicts": [
            {
                "fix": c.fix_label,
                "fix_release": c.fix_release.key if c.fix_release else None,
                "fix_request": c.fix_request.pk if c.fix_request else None,
                "scheduled": c.scheduled.key,
                "services": c.services,
                "options": _reasons(c.options),
            }
            for c in scope_changes.conflicts(release)
        ],
        "tech_debt": [
            {
                "scope_item": a.item.pk,
                "title": a.item.title,
                "effort_days": str(a.estimate.effort_days) if a.estimate else None,
                "risk_reduction": a.estimate.risk_reduction if a.estimate else None,
                "recommendation": a.recommendation,
                "reasons": _reasons(a.decision.reasons),
            }
            for a in scope_changes.tech_debt_recommendation(release)
        ],
    }


class ScopeAdviceView(APIView):
    permission_classes = [HasPermission.of("releases.view_release")]

    @extend_schema(responses={200: ScopeAdviceSerializer})
    def get(self, request, key):
        """Emergency-fix conflicts with their options, and include/defer for tech debt."""
        release = get_object_or_404(Release.objects.with_related(), key=key)
        return Response(scope_advice(release))


class BacklogItemSerializer(serializers.ModelSerializer):
    release = serializers.CharField(source="release.key", read_only=True)
    service = serializers.CharField(source="service.slug", read_only=True, allow_null=True)
    effort_days = serializers.SerializerMethodField()
    risk_reduction = serializers.SerializerMethodField()

    class Meta:
        model = ScopeItem
        fields = ["id", "title", "release", "service", "rationale", "effort_days", "risk_reduction"]

    def _estimate(self, obj):
        return getattr(obj, "tech_debt_estimate", None)

    def get_effort_days(self, obj) -> str | None:
        e = self._estimate(obj)
        return str(e.effort_days) if e else None

    def get_risk_reduction(self, obj) -> int | None:
        e = self._estimate(obj)
        return e.risk_reduction if e else None


class TakeSerializer(serializers.Serializer):
    release = serializers.SlugRelatedField(
        slug_field="key", queryset=Release.objects.all(), help_text="A maintenance release."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class MaintenanceBacklogView(generics.ListAPIView):
    """Deferred tech-debt items of every release, most risk reduced first."""

    serializer_class = BacklogItemSerializer
    permission_classes = [HasPermission.of("releases.view_scopeitem")]
    filterset_class = None

    def get_queryset(self):
        return scope_changes.maintenance_backlog()


class TakeFromBacklogView(APIView):
    permission_classes = [HasPermission.of(scope_changes.TAKE_PERMISSION)]

    @extend_schema(
        request=TakeSerializer,
        responses={
            200: BacklogItemSerializer,
            409: OpenApiResponse(RefusalSerializer, description="Taken already or not editable."),
        },
    )
    def post(self, request, pk):
        """Move a backlog item into a maintenance release (its history follows)."""
        item = get_object_or_404(ScopeItem, pk=pk)
        body = TakeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            taken = scope_changes.take_into_release(
                item, body.validated_data["release"], request.user, body.validated_data["note"]
            )
        except scope_changes.InvalidInput as exc:
            raise field_errors(exc, {"release": 1, "item": 1}) from exc
        return Response(BacklogItemSerializer(taken).data, status=status.HTTP_200_OK)


def register(router):
    router.register("scope-change-requests", ScopeChangeRequestViewSet)
    router.register("tech-debt-estimates", TechDebtEstimateViewSet)


urlpatterns = [
    path("releases/<releasekey:key>/scope-advice/", ScopeAdviceView.as_view(), name="scope-advice"),
    path("maintenance-backlog/", MaintenanceBacklogView.as_view(), name="maintenance-backlog"),
    path(
        "maintenance-backlog/<int:pk>/take/",
        TakeFromBacklogView.as_view(),
        name="maintenance-backlog-take",
    ),
]
