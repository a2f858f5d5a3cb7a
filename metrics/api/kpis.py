"""The KPI watch API: ``/api/v1/kpi-definitions/`` (CRUD), ``/api/v1/kpis/`` (pipelines and
monitors post samples; anyone with a role lists them), ``/api/v1/stabilisation-windows/``
(read, with verdict and reasons) and ``/api/v1/kpi-alerts/`` (read; acknowledge).

The rules are in ``metrics.kpi_samples`` and ``metrics.stabilisation``: bad samples answer 400
naming the sample and field (the expected unit on a unit mismatch) and write nothing.
"""

from django.db.models import ProtectedError
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from metrics import kpi_samples, stabilisation
from metrics.filtersets_kpis import (
    KpiAlertFilterSet,
    KpiFilterSet,
    KpiSampleFilterSet,
    StabilisationWindowFilterSet,
)
from metrics.models import Kpi, KpiAlert, KpiSample, StabilisationWindow
from metrics.models.kpis import KpiDirection, KpiKind
from metrics.models.stabilisation import Verdict, WindowState
from releasemgr import idempotency
from releasemgr.api.serializers import ValidatedModelSerializer
from releasemgr.api.viewsets import BaseModelViewSet
from releasemgr.decisions import DomainError
from releases.models import Service
from scheduling.api.exceptions import RefusalSerializer


class KpiSerializer(ValidatedModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    kind = serializers.ChoiceField(choices=KpiKind.choices)
    direction = serializers.ChoiceField(
        choices=KpiDirection.choices, default=KpiDirection.HIGHER_IS_WORSE
    )

    class Meta:
        model = Kpi
        fields = [
            "id",
            "service",
            "name",
            "kind",
            "unit",
            "direction",
            "threshold",
            "tolerance_percent",
            "description",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]
        validators = []  # the unique name per service is checked in validate() with a clear message

    def validate_threshold(self, value):
        if value is not None and not _finite(value):
            raise serializers.ValidationError("The threshold must be a finite number.")
        return value

    def validate_tolerance_percent(self, value):
        if not _finite(value):
            raise serializers.ValidationError("The tolerance must be a finite number.")
        return value

    def validate(self, attrs):
        service = attrs.get("service", getattr(self.instance, "service", None))
        name = attrs.get("name", getattr(self.instance, "name", None))
        clash = Kpi.objects.filter(service=service, name=name)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if service is not None and clash.exists():
            raise serializers.ValidationError(
                {"name": [f"{service.slug} already has a KPI named '{name}'."]}
            )
        return super().validate(attrs)


def _finite(value) -> bool:
    import math

    return isinstance(value, (int, float)) and math.isfinite(value)


class KpiViewSet(BaseModelViewSet):
    """KPI definitions per service: what is measured, in which unit, and what is a breach."""

    queryset = Kpi.objects.select_related("service")
    serializer_class = KpiSerializer
    filterset_class = KpiFilterSet
    ordering_fields = ["name", "created"]

    def perform_create(self, serializer):
        kpi = Kpi(**serializer.validated_data)
        kpi.save_with_reason("created via API", user=self.request.user)
        serializer.instance = kpi

    def perform_update(self, serializer):
        kpi = serializer.instance
        for key, value in serializer.validated_data.items():
            setattr(kpi, key, value)
        kpi.save_with_reason("changed via API", user=self.request.user)

    def perform_destroy(self, instance):
        try:
            instance._history_user = self.request.user
            instance.delete()
        except ProtectedError as exc:
            raise DomainError(
                f"{instance} has alerts on stabilisation windows; it stays for their record."
            ) from exc


class SampleInSerializer(serializers.Serializer):
    service = serializers.CharField(max_length=100)
    kpi = serializers.CharField(max_length=80)
    environment = serializers.CharField(max_length=100)
    value = serializers.FloatField(help_text="A finite number.")
    unit = serializers.CharField(max_length=20, help_text="Must be the KPI's own unit.")
    measured_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Default now; at most 5 minutes ahead."
    )
    source = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="Monitor name (redacted)."
    )

    def validate_value(self, value):
        if not _finite(value):
            raise serializers.ValidationError("The value must be a finite number.")
        return value


class BatchInSerializer(serializers.Serializer):
    samples = SampleInSerializer(many=True, allow_empty=False)


class KpiSampleSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="kpi.service.slug", read_only=True)
    kpi = serializers.CharField(source="kpi.name", read_only=True)
    kpi_id = serializers.IntegerField(read_only=True)
    unit = serializers.CharField(source="kpi.unit", read_only=True)
    environment = serializers.CharField(source="environment.slug", read_only=True)
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = KpiSample
        fields = [
            "id",
            "service",
            "kpi",
            "kpi_id",
            "environment",
            "value",
            "unit",
            "measured_at",
            "source",
            "posted_by",
            "created",
        ]


class KpiSampleViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """KPI samples. POST one sample, or ``{"samples": [...]}`` for an all-or-nothing batch."""

    queryset = KpiSample.objects.select_related("kpi", "kpi__service", "environment", "posted_by")
    serializer_class = KpiSampleSerializer
    filterset_class = KpiSampleFilterSet
    ordering_fields = ["measured_at"]

    def required_permission(self):
        if self.action == "create":
            return kpi_samples.ADD_PERMISSION
        return None

    def get_queryset(self):
        return super().get_queryset().order_by("-measured_at", "-pk")

    @extend_schema(
        request=SampleInSerializer,
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
            201: KpiSampleSerializer(many=True),
            400: OpenApiResponse(description="Field errors; nothing was recorded."),
            422: idempotency.KEY_REUSED,
        },
        description=(
            'One sample, or a batch as `{"samples": [...]}` (all or nothing). The unit must '
            "be the KPI's unit; unknown service/KPI/environment, non-finite values and "
            "measured_at more than 5 minutes ahead answer 400."
        ),
    )
    def create(self, request, *args, **kwargs):
        return idempotency.respond(request, "kpis", lambda: self._record(request))

    def _record(self, request):
        data = request.data
        batch = isinstance(data, dict) and "samples" in data
        body = BatchInSerializer(data=data) if batch else SampleInSerializer(data=data)
        body.is_valid(raise_exception=True)
        items = body.validated_data["samples"] if batch else [body.validated_data]
        try:
            created = kpi_samples.record(
                [kpi_samples.SampleIn(**item) for item in items], request.user
            )
        except kpi_samples.InvalidInput as exc:
            errors: dict = {}
            for reason in exc.reasons:
                field = reason.data.get("field", "non_field_errors")
                if batch and "index" in reason.data:
                    errors.setdefault("samples", {}).setdefault(
                        str(reason.data["index"]), {}
                    ).setdefault(field, []).append(reason.message)
                else:
                    errors.setdefault(field, []).append(reason.message)
            raise serializers.ValidationError(errors) from exc
        rows = self.get_queryset().filter(pk__in=[s.pk for s in created])
        out = KpiSampleSerializer(rows, many=True).data
        return Response(
            {"recorded": len(created), "samples": out} if batch else out[0],
            status=status.HTTP_201_CREATED,
        )


class ReasonOutSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField()


class StabilisationWindowSerializer(serializers.ModelSerializer):
    release = serializers.CharField(source="release.key", read_only=True)
    environment = serializers.CharField(source="deployment.environment.slug", read_only=True)
    state = serializers.ChoiceField(choices=WindowState.choices, read_only=True)
    verdict = serializers.ChoiceField(choices=Verdict.choices, read_only=True)
    reasons = serializers.SerializerMethodField(
        help_text="Per KPI: baseline, limit, latest value, breach or not, and why. Open windows "
        "answer the job's latest evaluation in lists and a fresh one on their own URL."
    )
    alerts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = StabilisationWindow
        fields = [
            "id",
            "release",
            "deployment",
            "environment",
            "opened_at",
            "hours",
            "ends_at",
            "baseline_hours",
            "state",
            "verdict",
            "closed_at",
            "evaluated_at",
            "reasons",
            "alerts",
        ]

    @extend_schema_field(ReasonOutSerializer(many=True))
    def get_reasons(self, obj):
        if self.context.get("fresh") and obj.state == WindowState.OPEN:
            return [
                {k: v for k, v in r.as_dict().items() if k in ("code", "passed", "message", "data")}
                for r in stabilisation.evaluate(obj).reasons
            ]
        return [{k: r.get(k) for k in ("code", "passed", "message", "data")} for r in obj.reasons]


class StabilisationWindowViewSet(viewsets.ReadOnlyModelViewSet):
    """Stabilisation windows (the 72-hour watch after each production deployment)."""

    queryset = StabilisationWindow.objects.select_related(
        "release", "deployment", "deployment__environment"
    ).prefetch_related("alerts")
    serializer_class = StabilisationWindowSerializer
    filterset_class = StabilisationWindowFilterSet
    ordering_fields = ["opened_at", "ends_at"]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "fresh": self.action == "retrieve"}


class KpiAlertSerializer(serializers.ModelSerializer):
    release = serializers.CharField(source="window.release.key", read_only=True)
    service = serializers.CharField(source="kpi.service.slug", read_only=True)
    kpi_name = serializers.CharField(source="kpi.name", read_only=True)
    unit = serializers.CharField(source="kpi.unit", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = KpiAlert
        fields = [
            "id",
            "window",
            "release",
            "kpi",
            "service",
            "kpi_name",
            "unit",
            "breach_started_at",
            "value",
            "limit",
            "baseline",
            "message",
            "acknowledged_at",
            "acknowledged_by",
            "acknowledgement",
            "created",
        ]
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class KpiAlertViewSet(viewsets.ReadOnlyModelViewSet):
    """KPI alerts raised by the watch job; a release manager acknowledges them."""

    queryset = KpiAlert.objects.select_related(
        "window", "window__release", "kpi", "kpi__service", "acknowledged_by"
    )
    serializer_class = KpiAlertSerializer
    filterset_class = KpiAlertFilterSet
    ordering_fields = ["breach_started_at", "created"]

    def required_permission(self):
        if self.action == "acknowledge":
            return stabilisation.ACKNOWLEDGE_PERMISSION
        return None

    @extend_schema(
        request=AcknowledgeSerializer,
        responses={
            200: KpiAlertSerializer,
            409: OpenApiResponse(RefusalSerializer, description="Already acknowledged."),
        },
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        """Mark the alert as seen, with an optional note (kept in its history)."""
        alert = self.get_object()
        body = AcknowledgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        stabilisation.acknowledge(alert, request.user, body.validated_data["note"])
        return Response(self.get_serializer(self.get_queryset().get(pk=alert.pk)).data)


def register(router):
    router.register("kpi-definitions", KpiViewSet)
    router.register("kpis", KpiSampleViewSet)
    router.register("stabilisation-windows", StabilisationWindowViewSet)
    router.register("kpi-alerts", KpiAlertViewSet)


urlpatterns = []
