"""``/api/v1/test-results/`` (pipelines post results), ``/api/v1/quality-gates/`` (exit criteria
per environment) and ``GET /api/v1/releases/{key}/quality/?environment=`` (the evaluation).

Every rule is in ``releases.quality`` and the models' ``clean``: bad input (an unknown
environment or release, a metric that is not a number, criteria with an unknown metric)
answers 400 with field errors and writes nothing; a repeated ``Idempotency-Key`` from the same
caller answers 200 with the first result.
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from releasemgr.api.permissions import HasPermission
from releasemgr.api.serializers import ValidatedModelSerializer
from releasemgr.api.viewsets import BaseModelViewSet
from releases import gate, quality
from releases.filtersets_validation import QualityGateFilterSet, TestResultFilterSet
from releases.models import Release, Service
from releases.models.validation import (
    QualityGate,
    TestResult,
    TestResultStatus,
    criteria_errors,
    metrics_errors,
)
from releases.validators import validate_version
from scheduling.models import Environment


def field_errors(exc: quality.InvalidInput, fields) -> serializers.ValidationError:
    """The decision's reasons as DRF field errors (unknown fields → non_field_errors)."""
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        name = (reason.data or {}).get("field")
        errors.setdefault(name if name in fields else "non_field_errors", []).append(reason.message)
    return serializers.ValidationError(errors)


@extend_schema_field({"type": "object", "additionalProperties": {"type": "number"}})
class MetricsField(serializers.JSONField):
    """``{metric: number}``; booleans and strings are refused, not coerced."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        problems = metrics_errors(data)
        if problems:
            raise serializers.ValidationError(problems)
        return data


CRITERION_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "metric": {"type": "string", "enum": list(quality.METRICS)},
            "op": {"type": "string", "enum": list(quality.COMPARE)},
            "threshold": {"type": "number"},
            "suite": {"type": "string"},
        },
        "required": ["metric", "op", "threshold"],
    },
}


@extend_schema_field(CRITERION_SCHEMA)
class CriteriaField(serializers.JSONField):
    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        problems = criteria_errors(data)
        if problems:
            raise serializers.ValidationError(problems)
        return data


class TestResultSerializer(serializers.ModelSerializer):
    __test__ = False  # not a pytest class

    release = serializers.SlugRelatedField(slug_field="key", read_only=True)
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    status = serializers.ChoiceField(choices=TestResultStatus.choices, read_only=True)
    # Empty when the pipeline sent none, so not declared as a URI in the schema.
    pipeline_url = serializers.CharField(read_only=True, help_text="The pipeline run, if given.")
    metrics = MetricsField(read_only=True)
    reported_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = TestResult
        fields = [
            "id",
            "release",
            "service",
            "environment",
            "suite",
            "kind",
            "status",
            "metrics",
            "load_ratio",
            "passed",
            "failed",
            "skipped",
            "pipeline_url",
            "commit",
            "reported_by",
            "reported_at",
        ]
        read_only_fields = fields


class TestResultCreateSerializer(serializers.Serializer):
    __test__ = False  # not a pytest class

    release = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Release.objects.all(),
        required=False,
        help_text="Release key; or give service and version.",
        error_messages={"does_not_exist": "No release '{value}'."},
    )
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False
    )
    version = serializers.CharField(max_length=50, required=False, validators=[validate_version])
    environment = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Environment.objects.all(),
        error_messages={
            "does_not_exist": "No environment '{value}'; GET /api/v1/environments/ lists them."
        },
    )
    suite = serializers.CharField(max_length=50, help_text="smoke, performance, integration, …")
    kind = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=TestResultStatus.choices)
    metrics = MetricsField(required=False, default=dict)
    load_ratio = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Simulated load ÷ expected production load (performance runs).",
    )
    passed = serializers.IntegerField(min_value=0, required=False, default=0)
    failed = serializers.IntegerField(min_value=0, required=False, default=0)
    skipped = serializers.IntegerField(min_value=0, required=False, default=0)
    pipeline_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    commit = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs.get("release") is None:
            service, version = attrs.get("service"), attrs.get("version")
            if service is None or not version:
                raise serializers.ValidationError(
                    {"release": ["Give the release key, or the service and version it ships."]}
                )
            found = gate.find_release(service, version)
            if found is None:
                raise serializers.ValidationError(
                    {"version": [f"No release ships {service.slug} {version}."]}
                )
            attrs["release"] = found
        service = attrs.get("service")
        if (
            service is not None
            and not attrs["release"].release_services.filter(service=service).exists()
        ):
            raise serializers.ValidationError(
                {"service": [f"{attrs['release'].key} does not ship {service.slug}."]}
            )
        return attrs


IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Repeating a key answers 200 with the first result; nothing new is written.",
)


class TestResultViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Test results posted by pipelines; the quality gates read the latest of each suite."""

    __test__ = False  # not a pytest class

    queryset = TestResult.objects.select_related("release", "service", "environment", "reported_by")
    serializer_class = TestResultSerializer
    filterset_class = TestResultFilterSet
    ordering_fields = ["reported_at"]

    def required_permission(self):
        if self.action == "create":
            return quality.REPORT_PERMISSION
        return None

    @extend_schema(
        request=TestResultCreateSerializer,
        responses={201: TestResultSerializer, 200: TestResultSerializer},
        parameters=[IDEMPOTENCY],
    )
    def create(self, request, *args, **kwargs):
        """Report a test run: `{release | service+version, environment, suite, status, metrics,
        load_ratio, passed, failed, skipped, pipeline_url, commit}`."""
        body = TestResultCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        release, environment = data.pop("release"), data.pop("environment")
        data.pop("version", None)
        try:
            result, created = quality.report_result(
                release,
                environment,
                request.user,
                idempotency_key=request.headers.get("Idempotency-Key", "")[:100],
                **data,
            )
        except quality.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        out = TestResultSerializer(result, context=self.get_serializer_context()).data
        return Response(out, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class QualityGateSerializer(ValidatedModelSerializer):
    environment = serializers.SlugRelatedField(
        slug_field="slug", queryset=Environment.objects.all()
    )
    criteria = CriteriaField(
        help_text=f"Metrics: {', '.join(quality.METRICS)}; operators: {' '.join(quality.COMPARE)}."
    )

    class Meta:
        model = QualityGate
        fields = [
            "id",
            "environment",
            "name",
            "description",
            "active",
            "criteria",
            "min_load_ratio",
            "load_assumption",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]


class QualityGateViewSet(BaseModelViewSet):
    """Exit criteria per environment (release managers write them)."""

    queryset = QualityGate.objects.select_related("environment")
    serializer_class = QualityGateSerializer
    filterset_class = QualityGateFilterSet
    ordering_fields = ["name", "created"]


class CriterionCheckSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    waits = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField()


class EnvironmentQualitySerializer(serializers.Serializer):
    environment = serializers.CharField()
    status = serializers.ChoiceField(choices=["passed", "failed", "waiting", "none"])
    checks = CriterionCheckSerializer(many=True)


class ReleaseQualitySerializer(serializers.Serializer):
    release = serializers.CharField()
    environments = EnvironmentQualitySerializer(many=True)
    deploy_check = CriterionCheckSerializer(
        required=False,
        help_text="With ?environment=: the gate's quality_gates check for deploying there "
        "(the exit criteria of the environments before it).",
    )


def _check(reason) -> dict:
    return {
        "code": reason.code,
        "passed": reason.passed,
        "waits": reason.waits,
        "message": reason.message,
        "data": reason.data,
    }


class ReleaseQualityView(APIView):
    permission_classes = [HasPermission.of("releases.view_qualitygate")]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "environment", str, description="Environment slug; omitted: every environment."
            )
        ],
        responses={
            200: ReleaseQualitySerializer,
            400: OpenApiResponse(description="Unknown environment."),
        },
    )
    def get(self, request, key):
        """Each active gate's criteria with their verdict for this release, per environment."""
        release = get_object_or_404(Release, key=key)
        slug = request.query_params.get("environment")
        environments = list(Environment.objects.order_by("order"))
        if slug:
            environments = [e for e in environments if e.slug == slug]
            if not environments:
                raise serializers.ValidationError({"environment": [f"No environment {slug!r}."]})
        rows = quality.release_quality(release, environments)
        out = {
            "release": release.key,
            "environments": [
                {
                    "environment": row.environment.slug,
                    "status": row.status,
                    "checks": [_check(r) for _g, reasons in row.gates for r in reasons],
                }
                for row in rows
            ],
        }
        if slug:
            out["deploy_check"] = _check(quality.check_quality_gates(release, environments[0]))
        return Response(out)


def register(router):
    router.register("test-results", TestResultViewSet)
    router.register("quality-gates", QualityGateViewSet)


urlpatterns = [
    path("releases/<releasekey:key>/quality/", ReleaseQualityView.as_view(), name="release-quality")
]
