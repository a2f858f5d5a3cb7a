"""Environments, calendar windows (``/windows/`` all kinds, ``/freeze-windows/`` the blocking
ones), "what applies now" and regions with their holiday import."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from releasemgr.api.viewsets import BaseModelViewSet
from scheduling.api.serializers import (
    ApplicableQuerySerializer,
    ApplicableSerializer,
    EnvironmentSerializer,
    FreezeWindowSerializer,
    HolidayImportResultSerializer,
    HolidayImportSerializer,
    RegionSerializer,
    WindowSerializer,
)
from scheduling.choices import BLOCKING_KINDS
from scheduling.filtersets import EnvironmentFilterSet, FreezeWindowFilterSet, RegionFilterSet
from scheduling.holidays import HolidayImportError, import_holidays
from scheduling.models import Environment, FreezeWindow, Region
from scheduling.windows import Scope, windows_at


class EnvironmentViewSet(BaseModelViewSet):
    queryset = Environment.objects.all()
    serializer_class = EnvironmentSerializer
    filterset_class = EnvironmentFilterSet
    lookup_field = "slug"
    ordering_fields = ["order", "name"]


WINDOW_QUERYSET = FreezeWindow.objects.select_related("created_by").prefetch_related(
    "services", "environments", "teams", "regions"
)


class WindowViewSet(BaseModelViewSet):
    """Calendar windows of every kind: freeze, blackout, maintenance, release window.

    Filters: ``kind`` (repeatable), ``hardness``, ``recurring``, ``active_at`` (follows
    recurrences), ``service``/``team``/``environment``/``region`` (windows that cover it:
    naming it or leaving that scope empty), ``q``.
    """

    queryset = WINDOW_QUERYSET
    serializer_class = WindowSerializer
    filterset_class = FreezeWindowFilterSet
    ordering_fields = ["start", "end", "name"]

    @extend_schema(
        parameters=[
            OpenApiParameter("service", str, description="Service slug"),
            OpenApiParameter("team", str, description="Team slug"),
            OpenApiParameter("environment", str, description="Environment slug"),
            OpenApiParameter("region", str, description="Region code"),
            OpenApiParameter("at", str, description="ISO 8601 moment; default now"),
            OpenApiParameter("kind", str, many=True, description="Only these kinds"),
        ],
        responses={200: ApplicableSerializer, 400: OpenApiResponse(description="Bad filter")},
        filters=False,
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def applicable(self, request):
        """Which windows apply to this service/team/environment/region at ``at`` (default now),
        with the occurrence in progress. Parameters left out mean "any"."""
        query = ApplicableQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        at = data.get("at") or timezone.now()
        scope = Scope.for_filters(
            team=data.get("team"),
            service=data.get("service"),
            environment=data.get("environment"),
            region=data.get("region"),
        )
        kinds = list(data["kind"]) if data.get("kind") else None
        found = windows_at(at, scope, kinds)
        context = self.get_serializer_context()
        body = {
            "at": at,
            "service": getattr(data.get("service"), "slug", None),
            "team": getattr(data.get("team"), "slug", None),
            "environment": getattr(data.get("environment"), "slug", None),
            "region": getattr(data.get("region"), "code", None),
            "windows": [
                {
                    "window": o.window,
                    "occurrence_start": o.start,
                    "occurrence_end": o.end,
                    "blocks": o.window.kind in BLOCKING_KINDS,
                }
                for o in found
            ],
        }
        return Response(ApplicableSerializer(body, context=context).data)


class FreezeWindowViewSet(BaseModelViewSet):
    """The blocking windows (freeze, blackout) under their first, public name."""

    queryset = WINDOW_QUERYSET.filter(kind__in=BLOCKING_KINDS)
    serializer_class = FreezeWindowSerializer
    filterset_class = FreezeWindowFilterSet
    ordering_fields = ["start", "end", "name"]


class RegionViewSet(BaseModelViewSet):
    queryset = Region.objects.all()
    serializer_class = RegionSerializer
    filterset_class = RegionFilterSet
    lookup_field = "code"
    ordering_fields = ["rollout_order", "code", "name"]

    def required_permission(self):
        if self.action == "import_holidays":
            return "scheduling.add_freezewindow"
        return None

    @extend_schema(
        request=HolidayImportSerializer,
        responses={
            201: HolidayImportResultSerializer,
            200: HolidayImportResultSerializer,
            400: OpenApiResponse(description="Bad year/kind, or no holiday calendar"),
        },
    )
    @action(detail=True, methods=["post"], url_path="import-holidays")
    def import_holidays(self, request, code=None):
        """Turn the region's public holidays of ``year`` into windows; re-importing changes
        nothing (200 with ``created: 0``)."""
        region = get_object_or_404(Region, code=code)
        body = HolidayImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            result = import_holidays(
                region,
                data["year"],
                kind=data["kind"],
                hardness=data["hardness"],
                allowed_change_types=data["allowed_change_types"],
                user=request.user,
            )
        except HolidayImportError as exc:
            raise ValidationError({exc.field: [exc.message]}) from exc
        out = HolidayImportResultSerializer(
            {
                "region": region.code,
                "year": result.year,
                "created": len(result.created),
                "unchanged": len(result.unchanged),
                "windows": result.created,
                "message": result.message,
            },
            context=self.get_serializer_context(),
        ).data
        return Response(
            out, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )
