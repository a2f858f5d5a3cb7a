"""Delivery performance for pipelines and BI tools (DESIGN.md "GET /api/v1/metrics/dora/").

- ``GET /api/v1/metrics/dora/?team=&service=&domain=&since=&until=``: the four DORA figures,
  exactly the public contract's shape.
- ``GET /api/v1/metrics/dora/trend/?...&bucket=week|month``: the same figures per UTC bucket.
- ``GET /api/v1/metrics/dora/rows/?...&detail=deployments|lead_time|change_failure|
  time_to_restore|recovery``: the rows behind one figure (paginated).
- ``GET /api/v1/metrics/mttr/`` and ``.../mttr/rows/``: recovery after failed releases.
- ``GET /api/v1/metrics/success-rate/`` and ``.../success-rate/rows/``: release success rate.

Everyone with a role reads them. Bad filters answer 400 naming the field (``metrics.periods``).
"""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from metrics import dora as dora_rules
from metrics.aggregates import hours
from metrics.mttr import failure_rows, mttr
from metrics.periods import parse_filters
from metrics.success_rate import release_rows, success_rate
from releasemgr.api.permissions import HasPermission

READ = "metrics.view_deploymentrecord"
FILTER_PARAMETERS = [
    OpenApiParameter("team", str, description="Team slug."),
    OpenApiParameter("service", str, description="Service slug."),
    OpenApiParameter("domain", str, description="Service domain."),
    OpenApiParameter("since", str, description="First UTC day (YYYY-MM-DD), inclusive."),
    OpenApiParameter("until", str, description="UTC day (YYYY-MM-DD), exclusive."),
]
BAD_FILTERS = OpenApiResponse(description="Unknown team/service/domain, bad or reversed dates")


class PercentilesSerializer(serializers.Serializer):
    median = serializers.FloatField(allow_null=True)
    p90 = serializers.FloatField(allow_null=True)


class DoraSerializer(serializers.Serializer):
    deployments = serializers.IntegerField()
    deployment_frequency_per_week = serializers.FloatField()
    lead_time_hours = PercentilesSerializer()
    change_failure_rate = serializers.FloatField(allow_null=True)
    time_to_restore_hours = PercentilesSerializer()
    failed_deployment_recovery_hours = PercentilesSerializer()


class TrendBucketSerializer(DoraSerializer):
    start = serializers.DateField()
    end = serializers.DateField(help_text="Exclusive.")


class TrendSerializer(serializers.Serializer):
    filters = serializers.DictField(child=serializers.CharField())
    bucket = serializers.ChoiceField(choices=dora_rules.BUCKETS)
    buckets = TrendBucketSerializer(many=True)


class MttrSerializer(serializers.Serializer):
    failures = serializers.IntegerField()
    recovered = serializers.IntegerField()
    not_recovered = serializers.IntegerField()
    time_to_recover_hours = PercentilesSerializer()


class SuccessRateSerializer(serializers.Serializer):
    releases = serializers.IntegerField()
    successful = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)


class RowSerializer(serializers.Serializer):
    """One row behind a figure; fields that do not apply to the figure are null."""

    kind = serializers.CharField()
    id = serializers.IntegerField()
    service = serializers.CharField()
    team = serializers.CharField(allow_null=True)
    environment = serializers.CharField(allow_null=True)
    release = serializers.CharField(allow_null=True)
    external_id = serializers.CharField(allow_blank=True)
    version = serializers.CharField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField(help_text="finished_at, authored_at or started_at.")
    until = serializers.DateTimeField(allow_null=True, help_text="shipped/resolved/recovered.")
    hours = serializers.FloatField(allow_null=True)
    counts_as_failure = serializers.BooleanField(allow_null=True)
    title = serializers.CharField(allow_null=True)
    sha = serializers.CharField(allow_null=True)


def _slug(obj, attr="slug"):
    return getattr(obj, attr) if obj is not None else None


def record_row(r, until=None, duration=None, kind="deployment"):
    return {
        "kind": kind,
        "id": r.pk,
        "service": r.service.slug,
        "team": _slug(r.team),
        "environment": r.environment.slug,
        "release": _slug(r.release, "key"),
        "external_id": r.external_id,
        "version": r.version,
        "status": r.status,
        "at": r.finished_at,
        "until": until,
        "hours": hours(duration),
        "counts_as_failure": getattr(r, "counts_as_failure", None),
        "title": None,
        "sha": None,
    }


def as_row(detail: str, obj) -> dict:
    if detail == "lead_time":
        rec = obj.deployment_record
        return {
            **record_row(rec, obj.shipped_at, obj.lead_time, "commit"),
            "id": obj.pk,
            "at": obj.authored_at,
            "sha": obj.sha,
            "counts_as_failure": None,
        }
    if detail == "time_to_restore":
        return {
            "kind": "incident",
            "id": obj.pk,
            "service": obj.service.slug,
            "team": None,
            "environment": None,
            "release": _slug(obj.release, "key"),
            "external_id": obj.external_id,
            "version": None,
            "status": obj.severity,
            "at": obj.started_at,
            "until": obj.resolved_at,
            "hours": hours(obj.time_to_restore),
            "counts_as_failure": None,
            "title": obj.title,
            "sha": None,
        }
    if detail == "recovery":
        return record_row(obj, obj.recovered_at, obj.recovery)
    if detail == "mttr":
        row = record_row(obj, obj.recovered_at, obj.time_to_recover)
        return {**row, "at": obj.detected_at}
    return record_row(obj)


class _MetricsView(GenericAPIView):
    permission_classes = [HasPermission.of(READ)]
    serializer_class = RowSerializer
    filter_backends: list = []


class DoraView(_MetricsView):
    @extend_schema(parameters=FILTER_PARAMETERS, responses={200: DoraSerializer, 400: BAD_FILTERS})
    def get(self, request):
        """The four DORA figures for a team/service/domain over a period (UTC dates)."""
        return Response(dora_rules.dora(parse_filters(request.query_params)))


class DoraTrendView(_MetricsView):
    @extend_schema(
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter("bucket", str, enum=list(dora_rules.BUCKETS), description="week"),
        ],
        responses={200: TrendSerializer, 400: BAD_FILTERS},
    )
    def get(self, request):
        """The DORA figures per ISO week (Monday) or calendar month, UTC."""
        filters = parse_filters(request.query_params)
        bucket = request.query_params.get("bucket") or "week"
        data = {
            "filters": filters.as_query(),
            "bucket": bucket,
            "buckets": dora_rules.dora_trend(filters, bucket),
        }
        return Response(TrendSerializer(data).data)


class _RowsView(_MetricsView):
    def rows(self, filters):
        raise NotImplementedError

    def get(self, request):
        filters = parse_filters(request.query_params)
        detail, queryset = self.rows(filters)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([as_row(detail, obj) for obj in page])


class DoraRowsView(_RowsView):
    @extend_schema(
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter(
                "detail", str, required=True, enum=list(dora_rules.DETAILS), description="figure"
            ),
        ],
        responses={200: RowSerializer(many=True), 400: BAD_FILTERS},
    )
    def get(self, request):
        """The rows behind one DORA figure (drill-down), newest first."""
        return super().get(request)

    def rows(self, filters):
        detail = self.request.query_params.get("detail") or "deployments"
        return detail, dora_rules.rows(filters, detail)


class MttrView(_MetricsView):
    @extend_schema(parameters=FILTER_PARAMETERS, responses={200: MttrSerializer, 400: BAD_FILTERS})
    def get(self, request):
        """Time from detecting a failed change to the service's next successful deployment."""
        return Response(mttr(parse_filters(request.query_params)))


class MttrRowsView(_RowsView):
    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={200: RowSerializer(many=True), 400: BAD_FILTERS},
    )
    def get(self, request):
        """The failed changes behind MTTR: detected (``at``), recovered (``until``), hours."""
        return super().get(request)

    def rows(self, filters):
        return "mttr", failure_rows(filters)


class ReleaseRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    version = serializers.CharField()
    failed_deployment = serializers.BooleanField()
    critical_incident = serializers.BooleanField()
    successful = serializers.BooleanField()


class SuccessRateView(_MetricsView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses={200: SuccessRateSerializer, 400: BAD_FILTERS}
    )
    def get(self, request):
        """Releases deployed to production in the period without rollback, failed deployment
        or critical incident, ÷ all of them."""
        return Response(success_rate(parse_filters(request.query_params)))


class SuccessRateRowsView(_MetricsView):
    serializer_class = ReleaseRowSerializer

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={200: ReleaseRowSerializer(many=True), 400: BAD_FILTERS},
    )
    def get(self, request):
        """The releases behind the success rate, and why each counts as it does."""
        queryset = release_rows(parse_filters(request.query_params))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ReleaseRowSerializer(page, many=True).data)


def register(router):
    """No viewsets: computed answers."""


urlpatterns = [
    path("metrics/dora/", DoraView.as_view(), name="metrics_dora"),
    path("metrics/dora/trend/", DoraTrendView.as_view(), name="metrics_dora_trend"),
    path("metrics/dora/rows/", DoraRowsView.as_view(), name="metrics_dora_rows"),
    path("metrics/mttr/", MttrView.as_view(), name="metrics_mttr"),
    path("metrics/mttr/rows/", MttrRowsView.as_view(), name="metrics_mttr_rows"),
    path("metrics/success-rate/", SuccessRateView.as_view(), name="metrics_success_rate"),
    path(
        "metrics/success-rate/rows/",
        SuccessRateRowsView.as_view(),
        name="metrics_success_rate_rows",
    ),
]
