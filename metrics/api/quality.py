"""``GET /api/v1/metrics/quality/?team=&service=&domain=&since=&until=&bucket=``: the stored
quality score of each release that reached production in the period (with its components) and
the average per week or month; ``POST /api/v1/metrics/quality/recompute/`` recomputes them
(release managers).

The filters are every metrics endpoint's (``metrics.periods``: the last 90 days by default) and
the buckets the DORA trend's; bad ones answer 400 ``invalid_filters`` naming the field."""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics import dora as dora_rules
from metrics import quality_score
from metrics.api.dora import BAD_FILTERS, FILTER_PARAMETERS
from metrics.periods import parse_filters
from releasemgr.api.permissions import HasPermission
from releases.models import Release

LIMIT = 500


class ComponentSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    deducted = serializers.IntegerField()
    cap = serializers.IntegerField()
    message = serializers.CharField()


class ReleaseScoreSerializer(serializers.Serializer):
    release = serializers.CharField(source="release.key")
    name = serializers.CharField(source="release.name")
    version = serializers.CharField(source="release.version")
    score = serializers.IntegerField()
    components = ComponentSerializer(many=True)
    deployed_at = serializers.DateTimeField()
    computed_at = serializers.DateTimeField()


class TrendPointSerializer(serializers.Serializer):
    period = serializers.DateField(
        help_text="First day of the bucket, UTC: the week's Monday or the month's 1st (the "
        "period's first day for the first bucket, as in the DORA trend)."
    )
    average = serializers.FloatField()
    releases = serializers.IntegerField()


class QualityReportSerializer(serializers.Serializer):
    filters = serializers.DictField()
    count = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True)
    releases = ReleaseScoreSerializer(many=True)
    trend = TrendPointSerializer(many=True)


class RecomputeSerializer(serializers.Serializer):
    release = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Release.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "No release '{value}'."},
    )
    days = serializers.IntegerField(required=False, min_value=1, max_value=3660)


def report(filters, bucket: str) -> dict:
    trend = quality_score.trend(filters, bucket)
    rows = list(quality_score.scores(filters).select_related("release")[:LIMIT])
    total = sum(p["releases"] for p in trend)
    average = round(sum(p["average"] * p["releases"] for p in trend) / total, 1) if total else None
    return {
        "filters": {**filters.as_query(), "bucket": bucket},
        "count": total,
        "average": average,
        "releases": rows,
        "trend": trend,
    }


class QualityView(APIView):
    permission_classes = [HasPermission.of("metrics.view_releasequalityscore")]

    @extend_schema(
        summary="Release quality scores and their trend",
        parameters=[
            *FILTER_PARAMETERS,
            OpenApiParameter(
                "bucket", str, enum=list(dora_rules.BUCKETS), description="Trend bucket (week)."
            ),
        ],
        responses={200: QualityReportSerializer, 400: BAD_FILTERS},
    )
    def get(self, request):
        filters = parse_filters(request.query_params)
        bucket = request.query_params.get("bucket") or "week"
        return Response(QualityReportSerializer(report(filters, bucket)).data)


class QualityRecomputeView(APIView):
    permission_classes = [HasPermission.of(quality_score.RECOMPUTE_PERMISSION)]

    @extend_schema(
        summary="Recompute quality scores (one release, or those deployed in the last N days)",
        request=RecomputeSerializer,
        responses={200: OpenApiResponse(description='{"recomputed": n}'), 400: None},
    )
    def post(self, request):
        body = RecomputeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        release = body.validated_data.get("release")
        if release is not None:
            n = quality_score.recompute(release_ids=[release.pk], user=request.user)
        else:
            n = quality_score.recompute(days=body.validated_data.get("days"), user=request.user)
        return Response({"recomputed": n}, status=status.HTTP_200_OK)


def register(router):
    """No viewsets: a report and one action."""


urlpatterns = [
    path("metrics/quality/", QualityView.as_view(), name="metrics-quality"),
    path(
        "metrics/quality/recompute/",
        QualityRecomputeView.as_view(),
        name="metrics-quality-recompute",
    ),
]
