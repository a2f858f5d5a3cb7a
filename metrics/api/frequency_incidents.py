"""``GET /api/v1/metrics/frequency-incidents/?team=&service=&domain=&since=&until=``: production
deployments and incidents per week (from the daily rollups), their Pearson and Spearman
correlation over the weekly team points, and what that means in plain words
(``metrics.frequency_incidents``). Bad filters answer 400 (``metrics.periods``)."""

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics.frequency_incidents import Conclusion, frequency_vs_incidents
from metrics.periods import parse_filters
from releasemgr.api.permissions import HasPermission

FILTER_PARAMETERS = [
    OpenApiParameter("team", str, description="Team slug."),
    OpenApiParameter("service", str, description="Service slug."),
    OpenApiParameter("domain", str, description="Service domain."),
    OpenApiParameter("since", str, description="First UTC day (YYYY-MM-DD), inclusive."),
    OpenApiParameter("until", str, description="UTC day (YYYY-MM-DD), exclusive."),
]


class WeekSerializer(serializers.Serializer):
    week = serializers.DateField(help_text="Monday (UTC) the week starts on.")
    deployments = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    rolled_back = serializers.IntegerField()
    change_failure_rate = serializers.FloatField(allow_null=True)
    incidents = serializers.IntegerField(source="incidents_started")


class PointSerializer(serializers.Serializer):
    team = serializers.CharField()
    week = serializers.DateField()
    deployments = serializers.IntegerField()
    incidents = serializers.IntegerField()


class FrequencyIncidentsSerializer(serializers.Serializer):
    filters = serializers.DictField(child=serializers.CharField())
    weeks = serializers.IntegerField(source="week_count")
    pearson = serializers.FloatField(allow_null=True)
    spearman = serializers.FloatField(allow_null=True)
    conclusion = serializers.ChoiceField(
        choices=Conclusion.choices,
        help_text="too_few: fewer than 8 weeks or no variation; otherwise the correlation's "
        "strength (no/weak/moderate/strong).",
    )
    message = serializers.CharField()
    per_week = WeekSerializer(many=True, source="weeks")
    points = PointSerializer(many=True)


class FrequencyIncidentsView(APIView):
    permission_classes = [HasPermission.of("metrics.view_dailyrollup")]

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        responses={
            200: FrequencyIncidentsSerializer,
            400: OpenApiResponse(description="Unknown team/service/domain, bad or reversed dates"),
        },
    )
    def get(self, request):
        """Deployment frequency against incident volume per week, with the correlation."""
        filters = parse_filters(request.query_params)
        result = frequency_vs_incidents(filters)
        result.filters = filters.as_query()
        return Response(FrequencyIncidentsSerializer(result).data)


def register(router):
    """No viewsets: a read-only computed answer."""


urlpatterns = [
    path(
        "metrics/frequency-incidents/",
        FrequencyIncidentsView.as_view(),
        name="metrics_frequency_incidents",
    ),
]
