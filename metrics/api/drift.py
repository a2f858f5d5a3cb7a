"""``/api/v1/config-snapshots/`` (pipelines and agents post what they observe),
``/api/v1/config-diff/`` (two environments, or a release's expected configuration, against the
observed one) and ``/api/v1/drift-items/`` with ``POST .../{id}/reconcile/``.

Rules live in ``metrics.drift``: values that are not an object, nested too deep, an unknown
service or environment answer 400 and write nothing; secrets are redacted before anything is
stored, so they are never returned.
"""

from django.urls import path
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics import drift
from metrics.filtersets_drift import ConfigSnapshotFilterSet, DriftItemFilterSet
from metrics.models.drift import ConfigSnapshot, DriftItem, DriftKind, DriftStatus
from releasemgr import idempotency
from releasemgr.api.permissions import HasPermission
from releases.models import Release, Service
from scheduling.models import Environment


def field_errors(exc: drift.InvalidValues, fields=()) -> serializers.ValidationError:
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        name = (reason.data or {}).get("field")
        errors.setdefault(name if name in fields else "non_field_errors", []).append(reason.message)
    return serializers.ValidationError(errors or {"non_field_errors": [exc.message]})


@extend_schema_field({"type": "object", "additionalProperties": True})
class ValuesField(serializers.JSONField):
    """``{key: value}``, nested objects allowed up to ``metrics.drift.MAX_DEPTH`` levels."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        problems = drift.values_errors(data)
        if problems:
            raise serializers.ValidationError(problems)
        return data


_SERVICE_ERRORS = {"does_not_exist": "No service '{value}'; GET /api/v1/services/ lists them."}
_ENV_ERRORS = {"does_not_exist": "No environment '{value}'; GET /api/v1/environments/ lists them."}


class DriftItemSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    release = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    kind = serializers.ChoiceField(choices=DriftKind.choices, read_only=True)
    status = serializers.ChoiceField(choices=DriftStatus.choices, read_only=True)
    expected = serializers.JSONField(read_only=True, allow_null=True)
    actual = serializers.JSONField(read_only=True, allow_null=True)

    class Meta:
        model = DriftItem
        fields = [
            "id",
            "service",
            "environment",
            "key",
            "kind",
            "expected",
            "actual",
            "status",
            "snapshot",
            "release",
            "decided_by",
            "decided_at",
            "reason",
            "created",
            "updated",
        ]
        read_only_fields = fields


class ConfigSnapshotSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    values = ValuesField(read_only=True, help_text="Secrets are redacted before storage.")

    class Meta:
        model = ConfigSnapshot
        fields = ["id", "service", "environment", "taken_at", "source", "values", "posted_by"]
        read_only_fields = fields


class ConfigSnapshotCreateSerializer(serializers.Serializer):
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), error_messages=_SERVICE_ERRORS
    )
    environment = serializers.SlugRelatedField(
        slug_field="slug", queryset=Environment.objects.all(), error_messages=_ENV_ERRORS
    )
    values = ValuesField(help_text="The observed configuration: {key: value}.")
    source = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    taken_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ComparisonSerializer(serializers.Serializer):
    snapshot = ConfigSnapshotSerializer()
    expected_source = serializers.ChoiceField(choices=["release", "baseline", "config_set", "none"])
    expected_message = serializers.CharField()
    release = serializers.CharField(allow_null=True)
    opened = serializers.IntegerField()
    updated = serializers.IntegerField()
    fixed = serializers.IntegerField()
    open_items = DriftItemSerializer(many=True)


class ConfigSnapshotViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Observed configurations (append-only); posting one compares it with the expected."""

    queryset = ConfigSnapshot.objects.select_related("service", "environment", "posted_by")
    serializer_class = ConfigSnapshotSerializer
    filterset_class = ConfigSnapshotFilterSet
    ordering_fields = ["taken_at"]

    @extend_schema(
        request=ConfigSnapshotCreateSerializer,
        parameters=[
            OpenApiParameter(
                idempotency.HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Repeating a key with the same body answers the first result; "
                "nothing new is written.",
            )
        ],
        responses={
            201: ComparisonSerializer,
            400: OpenApiResponse(description="Bad input"),
            422: idempotency.KEY_REUSED,
        },
    )
    def create(self, request, *args, **kwargs):
        """Report a service's observed configuration: `{service, environment, values, source?,
        taken_at?}`. Answers the drift found against the expected configuration."""
        return idempotency.respond(request, "config-snapshots", lambda: self._record(request))

    def _record(self, request):
        body = ConfigSnapshotCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = drift.record_snapshot(request.user, **body.validated_data)
        except drift.InvalidValues as exc:
            raise field_errors(exc, body.fields) from exc
        items = sorted([*result.opened, *result.updated, *result.unchanged], key=lambda i: i.key)
        out = {
            "snapshot": ConfigSnapshotSerializer(result.snapshot).data,
            "expected_source": result.expected.source,
            "expected_message": result.expected.message,
            "release": result.expected.release.key if result.expected.release else None,
            "opened": len(result.opened),
            "updated": len(result.updated),
            "fixed": len(result.fixed),
            "open_items": DriftItemSerializer(items, many=True).data,
        }
        return Response(out, status=status.HTTP_201_CREATED)


class ReconcileSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=[("accept", "Accept as the new baseline"), ("fix", "Mark to fix")]
    )
    reason = serializers.CharField(max_length=2000)


class DriftItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Differences between observed and expected configuration, and their reconciliation."""

    queryset = DriftItem.objects.select_related("service", "environment", "release", "decided_by")
    serializer_class = DriftItemSerializer
    filterset_class = DriftItemFilterSet
    ordering_fields = ["created", "updated", "key"]

    def required_permission(self):
        if self.action == "reconcile":
            return drift.RECONCILE_PERMISSION
        return None

    @extend_schema(
        request=ReconcileSerializer,
        responses={
            200: DriftItemSerializer,
            400: OpenApiResponse(description="No decision or reason"),
            409: OpenApiResponse(description="Already fixed or accepted"),
        },
    )
    @action(detail=True, methods=["post"])
    def reconcile(self, request, pk=None):
        """Accept the difference as the new baseline (`accept`) or mark it to fix (`fix`),
        with a reason."""
        item = self.get_object()
        body = ReconcileSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            item = drift.reconcile(item, request.user, **body.validated_data)
        except drift.InvalidValues as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(DriftItemSerializer(item).data)


class DiffRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    left = serializers.JSONField(allow_null=True)
    right = serializers.JSONField(allow_null=True)
    status = serializers.ChoiceField(choices=["same", "added", "removed", "changed"])


class ConfigDiffSerializer(serializers.Serializer):
    service = serializers.CharField()
    left = serializers.DictField(help_text="{kind, environment, snapshot | release, message}")
    right = serializers.DictField()
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    changed = serializers.IntegerField()
    rows = DiffRowSerializer(many=True)


def _snapshot_side(environment, snapshot):
    return {
        "kind": "snapshot",
        "environment": environment.slug,
        "snapshot": snapshot.pk if snapshot else None,
        "taken_at": snapshot.taken_at.isoformat() if snapshot else None,
    }


class ConfigDiffView(APIView):
    permission_classes = [HasPermission.of("metrics.view_configsnapshot")]

    @extend_schema(
        parameters=[
            OpenApiParameter("service", str, required=True, description="Service slug."),
            OpenApiParameter("left", str, description="Environment slug (left side)."),
            OpenApiParameter("right", str, description="Environment slug (right side)."),
            OpenApiParameter(
                "release",
                str,
                description="Release key: its expected configuration in `environment` (left) "
                "against the latest snapshot there (right).",
            ),
            OpenApiParameter("environment", str, description="With `release`."),
        ],
        responses={200: ConfigDiffSerializer, 400: OpenApiResponse(description="Bad input")},
    )
    def get(self, request):
        """Latest snapshots of a service in two environments side by side, or a release's
        expected configuration against what is observed."""
        params = request.query_params
        errors: dict[str, list[str]] = {}
        service = Service.objects.filter(slug=params.get("service") or "").first()
        if service is None:
            errors["service"] = [f"No service {params.get('service')!r}."]

        def env(name):
            slug = params.get(name)
            found = Environment.objects.filter(slug=slug or "").first()
            if found is None:
                errors[name] = [f"No environment {slug!r}." if slug else "Required."]
            return found

        release = None
        if params.get("release"):
            release = Release.objects.filter(key=params["release"]).first()
            if release is None:
                errors["release"] = [f"No release {params['release']!r}."]
            elif (
                service is not None
                and not release.release_services.filter(service=service).exists()
            ):
                errors["service"] = [f"{release.key} does not ship {service.slug}."]
            environment = env("environment")
        else:
            left, right = env("left"), env("right")
        if errors:
            raise serializers.ValidationError(errors)
        if release is not None:
            found = drift.expected_diff(service, environment, release)
            left_side = {
                "kind": "expected",
                "environment": environment.slug,
                "source": found["expected"].source,
                "message": found["expected"].message,
            }
            right_side = _snapshot_side(environment, found["snapshot"])
        else:
            found = drift.environment_diff(service, left, right)
            left_side = _snapshot_side(left, found["left"])
            right_side = _snapshot_side(right, found["right"])
        d = found["diff"]
        return Response(
            {
                "service": service.slug,
                "left": left_side,
                "right": right_side,
                "added": len(d.added),
                "removed": len(d.removed),
                "changed": len(d.changed),
                "rows": d.rows(),
            }
        )


def register(router):
    router.register("config-snapshots", ConfigSnapshotViewSet)
    router.register("drift-items", DriftItemViewSet)


urlpatterns = [path("config-diff/", ConfigDiffView.as_view(), name="config-diff")]
