"""Change types API: the change catalogue, retrospectives, risk and the change-type report.

- ``/api/v1/change-models/`` CRUD by slug (release managers and CAB members; a CAB member
  who saves a model pre-approves it);
- ``/api/v1/retrospectives/`` list/retrieve, ``POST .../{id}/complete/`` ``{findings, actions}``;
- ``GET /api/v1/releases/{key}/risk/``: the live assessment and the snapshots kept;
- ``GET /api/v1/reports/change-types/?since=&until=&team=&service=``;
- ``GET/PATCH /api/v1/risk-config/``: weights and band thresholds (compliance officers edit).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import change_types, risk
from governance.choices import RiskBand
from governance.filtersets_changes import ChangeModelFilterSet, RetrospectiveFilterSet
from governance.models import ChangeModel, Retrospective, RiskAssessment, RiskConfig
from releasemgr.api.permissions import HasPermission
from releasemgr.api.viewsets import BaseModelViewSet
from releasemgr.roles import CAB_MEMBER, has_role
from releases.models import Release, Service, Team

# --- change models ---------------------------------------------------------------------------


class ChangeModelSerializer(serializers.ModelSerializer):
    services = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Service.objects.all(),
        many=True,
        help_text="Slugs of the services this standard change may touch.",
    )
    risk_ceiling = serializers.ChoiceField(choices=RiskBand.choices, default=RiskBand.LOW)
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who created the model."
    )
    approved_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The CAB member who last saved (pre-approved) the model; null until one does.",
    )
    release_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ChangeModel
        fields = [
            "slug",
            "name",
            "description",
            "services",
            "steps",
            "risk_ceiling",
            "active",
            "owner",
            "approved_by",
            "release_count",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    def validate_services(self, value):
        if not value:
            raise serializers.ValidationError("Name at least one service.")
        return value

    def validate_steps(self, value):
        steps = [line.strip() for line in value.splitlines() if line.strip()]
        if not steps:
            raise serializers.ValidationError("Write the approved procedure, one step per line.")
        return "\n".join(steps)

    def _save(self, instance, validated_data, reason):
        services = validated_data.pop("services", None)
        user = self.context["request"].user
        for key, value in validated_data.items():
            setattr(instance, key, value)
        if has_role(user, CAB_MEMBER):
            instance.approved_by = user
        if instance.pk is None:
            instance.owner = user
        instance.full_clean(exclude=["services"])
        instance.save_with_reason(reason, user=user)
        if services is not None:
            instance.services.set(services)
        instance.release_count = instance.releases.count()
        return instance

    def create(self, validated_data):
        return self._save(ChangeModel(), validated_data, "Created")

    def update(self, instance, validated_data):
        return self._save(instance, validated_data, "Edited")


class ChangeModelViewSet(BaseModelViewSet):
    """The catalogue of standard change models (pre-approved changes)."""

    queryset = ChangeModel.objects.select_related("owner", "approved_by").prefetch_related(
        "services"
    )
    serializer_class = ChangeModelSerializer
    filterset_class = ChangeModelFilterSet
    lookup_field = "slug"
    ordering_fields = ["name", "created"]

    def get_queryset(self):
        return (
            super().get_queryset().annotate(release_count=Count("releases", distinct=True))
        ).order_by("name", "pk")


# --- retrospectives --------------------------------------------------------------------------


class RetrospectiveSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", read_only=True)
    completed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Retrospective
        fields = [
            "id",
            "release",
            "due_at",
            "overdue",
            "completed_at",
            "completed_by",
            "findings",
            "actions",
            "created",
            "updated",
        ]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        return obj.completed_at is None and obj.due_at < timezone.now()


class CompleteRetrospectiveSerializer(serializers.Serializer):
    findings = serializers.CharField(allow_blank=True, max_length=8000)
    actions = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class RetrospectiveViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Reviews owed by approved emergency changes (opened on approval)."""

    queryset = Retrospective.objects.select_related("release", "completed_by").order_by(
        "completed_at", "due_at", "pk"
    )
    serializer_class = RetrospectiveSerializer
    filterset_class = RetrospectiveFilterSet
    ordering_fields = ["due_at", "completed_at"]

    def required_permission(self):
        # complete_retrospective answers who may complete (403 with its reason).
        if self.action == "complete":
            return "governance.view_retrospective"
        return None

    @extend_schema(
        request=CompleteRetrospectiveSerializer,
        responses={
            200: RetrospectiveSerializer,
            400: OpenApiResponse(description="Findings missing."),
            403: OpenApiResponse(description="Not a release manager or CAB member."),
            409: OpenApiResponse(description="Already completed."),
        },
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Record the findings and follow-up actions (one per line); logged as a decision."""
        retro = self.get_object()
        body = CompleteRetrospectiveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            change_types.complete_retrospective(
                retro, request.user, body.validated_data["findings"], body.validated_data["actions"]
            )
        except change_types.InvalidRetrospective as exc:
            raise serializers.ValidationError(
                {r.data.get("field", "non_field_errors"): [r.message] for r in exc.reasons}
            ) from exc
        return Response(self.get_serializer(self.get_queryset().get(pk=retro.pk)).data)


# --- risk ------------------------------------------------------------------------------------


class FactorSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    weight = serializers.IntegerField()
    value = serializers.FloatField()
    points = serializers.IntegerField()
    explanation = serializers.CharField()


class SnapshotSerializer(serializers.ModelSerializer):
    assessed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    factors = FactorSerializer(many=True, read_only=True)

    class Meta:
        model = RiskAssessment
        fields = ["id", "round", "score", "band", "factors", "assessed_by", "created"]
        read_only_fields = fields


class ReleaseRiskSerializer(serializers.Serializer):
    release = serializers.CharField()
    score = serializers.IntegerField(help_text="0..100, the sum of the factors' points.")
    band = serializers.ChoiceField(choices=RiskBand.choices)
    thresholds = serializers.DictField(child=serializers.IntegerField())
    factors = FactorSerializer(many=True)
    snapshots = SnapshotSerializer(many=True, help_text="Kept at each submission, newest first.")


class ReleaseRiskView(APIView):
    permission_classes = [HasPermission.of("releases.view_release")]

    @extend_schema(responses={200: ReleaseRiskSerializer, 404: OpenApiResponse()})
    def get(self, request, key):
        """The release's risk now (each factor with weight, value, points, why) and its snapshots."""
        release = get_object_or_404(Release, key=key)
        result = risk.assess(release)
        snapshots = release.risk_assessments.select_related("assessed_by").order_by("-created")
        body = {"release": release.key, **result.as_dict(), "snapshots": snapshots}
        return Response(ReleaseRiskSerializer(body).data)


class RiskConfigSerializer(serializers.Serializer):
    weights = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Factor code → weight; all weights add up to 100. Missing codes keep theirs.",
    )
    medium_from = serializers.IntegerField()
    high_from = serializers.IntegerField()
    critical_from = serializers.IntegerField()
    factors = serializers.DictField(
        child=serializers.CharField(), read_only=True, help_text="Factor code → label."
    )
    reason = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=100
    )


def _config_body(config: RiskConfig) -> dict:
    return {
        "weights": risk.effective_weights(config),
        "medium_from": config.medium_from,
        "high_from": config.high_from,
        "critical_from": config.critical_from,
        "factors": risk.FACTOR_LABELS,
    }


class RiskConfigView(APIView):
    """How risk is scored. PATCH needs ``governance.change_riskconfig`` (compliance officers)."""

    def get_permissions(self):
        perm = (
            "governance.change_riskconfig"
            if self.request.method == "PATCH"
            else "governance.view_riskconfig"
        )
        return [HasPermission.of(perm)()]

    @extend_schema(responses={200: RiskConfigSerializer})
    def get(self, request):
        return Response(RiskConfigSerializer(_config_body(RiskConfig.current())).data)

    @extend_schema(
        request=RiskConfigSerializer,
        responses={200: RiskConfigSerializer, 400: OpenApiResponse(description="Field errors.")},
    )
    def patch(self, request):
        current = _config_body(RiskConfig.current())
        body = RiskConfigSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        values = {
            "weights": {**current["weights"], **data.get("weights", {})},
            "medium_from": data.get("medium_from", current["medium_from"]),
            "high_from": data.get("high_from", current["high_from"]),
            "critical_from": data.get("critical_from", current["critical_from"]),
        }
        try:
            config = risk.update_config(request.user, **values, reason=data.get("reason", ""))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return Response(RiskConfigSerializer(_config_body(config)).data)


# --- report ----------------------------------------------------------------------------------


class ReportQuerySerializer(serializers.Serializer):
    since = serializers.DateField(required=False, help_text="Created on or after (UTC date).")
    until = serializers.DateField(required=False, help_text="Created before (UTC date).")
    team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), required=False
    )
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False
    )

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": "Must be after since."})
        return attrs


class TypeRowSerializer(serializers.Serializer):
    change_type = serializers.CharField()
    label = serializers.CharField()
    total = serializers.IntegerField()
    share = serializers.FloatField()
    deployed = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Rolled back.")
    in_flight = serializers.IntegerField()
    stopped = serializers.IntegerField(help_text="Rejected or cancelled.")
    failure_rate = serializers.FloatField(allow_null=True)


class MonthRowSerializer(serializers.Serializer):
    month = serializers.CharField()
    standard = serializers.IntegerField()
    normal = serializers.IntegerField()
    emergency = serializers.IntegerField()
    total = serializers.IntegerField()


class ChangeTypeReportSerializer(serializers.Serializer):
    since = serializers.CharField(allow_null=True)
    until = serializers.CharField(allow_null=True)
    team = serializers.CharField(allow_null=True)
    service = serializers.CharField(allow_null=True)
    total = serializers.IntegerField()
    emergency_share = serializers.FloatField()
    by_type = TypeRowSerializer(many=True)
    by_month = MonthRowSerializer(many=True)


class ChangeTypeReportView(APIView):
    permission_classes = [HasPermission.of("releases.view_release")]

    @extend_schema(
        parameters=[
            OpenApiParameter("since", str, description="YYYY-MM-DD, inclusive (UTC)."),
            OpenApiParameter("until", str, description="YYYY-MM-DD, exclusive (UTC)."),
            OpenApiParameter("team", str, description="Team slug."),
            OpenApiParameter("service", str, description="Service slug."),
        ],
        responses={200: ChangeTypeReportSerializer, 400: OpenApiResponse()},
    )
    def get(self, request):
        """Releases created in the period by change type, their outcomes and per month."""
        query = ReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = change_types.report_by_type(**query.validated_data)
        return Response(ChangeTypeReportSerializer(report).data)


def register(router):
    router.register("change-models", ChangeModelViewSet)
    router.register("retrospectives", RetrospectiveViewSet)


urlpatterns = [
    path("releases/<releasekey:key>/risk/", ReleaseRiskView.as_view(), name="release-risk"),
    path("reports/change-types/", ChangeTypeReportView.as_view(), name="change-type-report"),
    path("risk-config/", RiskConfigView.as_view(), name="risk-config"),
]
