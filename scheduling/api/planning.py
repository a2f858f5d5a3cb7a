"""Planning API (issue 3 items 3, 7, 8, 12).

- ``GET|POST /api/v1/schedule-check/`` ``{release, start, end, region?}`` → every check of the
  period with its reason and the next free slot (``scheduling.schedule_check``).
- ``GET /api/v1/rollout-plan/?release=KEY`` → go-live per region, in order
  (``scheduling.golive.rollout_plan``).
- ``/api/v1/go-live-rules/`` CRUD.
- ``/api/v1/vendor-deliverables/`` CRUD, plus ``POST .../{id}/mark-late/``
  ``{expected_at, reason}`` (re-plans the release; returns the deadlines it now misses) and
  ``POST .../{id}/mark-delivered/`` ``{delivered_at?, note?}`` (``scheduling.vendors``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from releasemgr.api.permissions import HasPermission
from releasemgr.api.serializers import ValidatedModelSerializer
from releasemgr.api.viewsets import BaseModelViewSet
from releasemgr.decisions import Reason
from releases.models import Release, Service
from scheduling import golive, schedule_check, vendors
from scheduling.filtersets_planning import (
    GoLiveRuleFilterSet,
    VendorDeliverableFilterSet,
    deliverables_by_readiness,
)
from scheduling.models import GoLiveRule, Region, VendorDeliverable
from scheduling.schedule_check import history_reason

_DATETIME = serializers.DateTimeField()


def _iso(moment):
    """A moment as every other API field shows it (UTC, ``Z``), or None."""
    return _DATETIME.to_representation(moment) if moment is not None else None


def _reason(reason: Reason) -> dict:
    return {
        "code": reason.code,
        "passed": reason.passed,
        "message": reason.message,
        "data": reason.data,
    }


def _django_errors(exc: DjangoValidationError) -> serializers.ValidationError:
    if hasattr(exc, "error_dict"):
        return serializers.ValidationError(exc.message_dict)
    return serializers.ValidationError({"non_field_errors": exc.messages})


class ReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField()


# ------------------------------------------------------------------ schedule check


class ScheduleCheckRequestSerializer(serializers.Serializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    region = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Region.objects.all(),
        required=False,
        allow_null=True,
        help_text="Region code: check that region only; omitted, the whole rollout.",
    )

    def validate(self, attrs):
        try:
            schedule_check.validate_period(attrs["start"], attrs["end"])
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return attrs


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    conflicts = ReasonSerializer(many=True, help_text="Warnings and missed deadlines it keeps.")


class ScheduleCheckResponseSerializer(serializers.Serializer):
    ok = serializers.BooleanField(help_text="True when every check passed.")
    blocked = serializers.BooleanField(help_text="True when a hard conflict stops the plan.")
    release = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    region = serializers.CharField(allow_null=True)
    conflicts = ReasonSerializer(
        many=True,
        help_text="Every check, failed first; data.severity is hard, warning or deadline.",
    )
    next_free_slot = SlotSerializer(
        allow_null=True, help_text="The earliest start (same duration) with no hard conflict."
    )


class ScheduleCheckView(APIView):
    """Every conflict of planning a release for [start, end), and the next free slot."""

    permission_classes = [HasPermission.of("releases.view_release")]

    def _answer(self, data):
        body = ScheduleCheckRequestSerializer(data=data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        release, region = values["release"], values.get("region")
        proposal = schedule_check.propose(release, values["start"], values["end"], region)
        decision = proposal.decision
        ordered = schedule_check.conflicts(decision) + [r for r in decision.reasons if r.passed]
        slot = None
        if proposal.slot_start is not None:
            slot = {
                "start": _iso(proposal.slot_start),
                "end": _iso(proposal.slot_end),
                "conflicts": [_reason(r) for r in proposal.slot_conflicts],
            }
        return Response(
            {
                "ok": decision.allowed,
                "blocked": bool(proposal.hard),
                "release": release.key,
                "start": _iso(values["start"]),
                "end": _iso(values["end"]),
                "region": region.code if region else None,
                "conflicts": [_reason(r) for r in ordered],
                "next_free_slot": slot,
            }
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("release", str, required=True),
            OpenApiParameter("start", str, required=True, description="ISO 8601"),
            OpenApiParameter("end", str, required=True, description="ISO 8601"),
            OpenApiParameter("region", str, required=False, description="Region code"),
        ],
        responses={
            200: ScheduleCheckResponseSerializer,
            400: OpenApiResponse(description="Bad input"),
        },
    )
    def get(self, request):
        return self._answer(request.query_params)

    @extend_schema(
        request=ScheduleCheckRequestSerializer,
        responses={
            200: ScheduleCheckResponseSerializer,
            400: OpenApiResponse(description="Bad input"),
        },
    )
    def post(self, request):
        """Checks only: nothing is written."""
        return self._answer(request.data)


# ------------------------------------------------------------------ rollout plan


class RolloutRowSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    region = serializers.CharField()
    region_name = serializers.CharField()
    timezone = serializers.CharField()
    earliest_at = serializers.DateTimeField(allow_null=True)
    planned_at = serializers.DateTimeField(allow_null=True)
    planned_at_local = serializers.CharField(allow_null=True)
    reasons = ReasonSerializer(many=True)


class RolloutPlanResponseSerializer(serializers.Serializer):
    release = serializers.CharField()
    planned_start = serializers.DateTimeField(allow_null=True)
    regions = RolloutRowSerializer(many=True)


class RolloutQuerySerializer(serializers.Serializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())


class RolloutPlanView(APIView):
    """The release's go-live per region, in go-live order."""

    permission_classes = [HasPermission.of("releases.view_release")]

    @extend_schema(
        parameters=[OpenApiParameter("release", str, required=True)],
        responses={200: RolloutPlanResponseSerializer},
    )
    def get(self, request):
        from scheduling.templatetags.planning_tags import in_zone

        query = RolloutQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        release = Release.objects.prefetch_related("release_services").get(
            pk=query.validated_data["release"].pk
        )
        rows = golive.rollout_plan(release)
        return Response(
            {
                "release": release.key,
                "planned_start": _iso(release.planned_start),
                "regions": [
                    {
                        "order": row["order"],
                        "region": row["region"].code,
                        "region_name": row["region"].name,
                        "timezone": row["region"].timezone,
                        "earliest_at": _iso(row["earliest_at"]),
                        "planned_at": _iso(row["planned_at"]),
                        "planned_at_local": in_zone(row["planned_at"], row["region"].timezone)
                        if row["planned_at"]
                        else None,
                        "reasons": [_reason(r) for r in row["reasons"]],
                    }
                    for row in rows
                ],
            }
        )


# ------------------------------------------------------------------ go-live rules


class GoLiveRuleSerializer(ValidatedModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all())
    release = serializers.SlugRelatedField(
        slug_field="key", queryset=Release.objects.all(), required=False, allow_null=True
    )
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = GoLiveRule
        fields = [
            "id",
            "region",
            "release",
            "service",
            "earliest_at",
            "legal_basis",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]


class GoLiveRuleViewSet(BaseModelViewSet):
    """Earliest legal go-live per region, for a release or every release of a service."""

    queryset = GoLiveRule.objects.select_related("region", "release", "service").order_by(
        "earliest_at", "pk"
    )
    serializer_class = GoLiveRuleSerializer
    filterset_class = GoLiveRuleFilterSet
    ordering_fields = ["earliest_at", "created"]


# ------------------------------------------------------------------ vendor deliverables


class VendorDeliverableSerializer(ValidatedModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    ready_at = serializers.SerializerMethodField(
        help_text="Delivery (or expected delivery) plus the buffer: the earliest start it allows."
    )
    change_reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=80,
        help_text="Why a date changes (required when expected_at or buffer_hours change).",
    )

    class Meta:
        model = VendorDeliverable
        fields = [
            "id",
            "release",
            "vendor",
            "description",
            "expected_at",
            "delivered_at",
            "buffer_hours",
            "ready_at",
            "change_reason",
            "created",
            "updated",
        ]
        read_only_fields = ["delivered_at", "created", "updated"]
        skip_model_validation = ("change_reason",)

    def get_ready_at(self, obj) -> str:
        return _iso(schedule_check.ready_at(obj))

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance
        if instance is not None:
            if "release" in attrs and attrs["release"].pk != instance.release_id:
                raise serializers.ValidationError(
                    {"release": "A deliverable stays with its release; delete and add it again."}
                )
            moved = any(
                name in attrs and attrs[name] != getattr(instance, name)
                for name in ("expected_at", "buffer_hours")
            )
            if moved and not (attrs.get("change_reason") or "").strip():
                raise serializers.ValidationError(
                    {
                        "change_reason": "Say why the date changes (or POST mark-late when the "
                        "vendor slips)."
                    }
                )
        return attrs

    def create(self, validated_data):
        validated_data.pop("change_reason", None)
        item = VendorDeliverable(**validated_data)
        item.save_with_reason("added", user=self.context["request"].user)
        return item

    def update(self, instance, validated_data):
        reason = (validated_data.pop("change_reason", "") or "").strip()
        for name, value in validated_data.items():
            setattr(instance, name, value)
        instance.save_with_reason(
            history_reason(reason or "edited"), user=self.context["request"].user
        )
        return instance


class MarkLateSerializer(serializers.Serializer):
    expected_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=vendors.REASON_MAX)


class MarkDeliveredSerializer(serializers.Serializer):
    delivered_at = serializers.DateTimeField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=vendors.REASON_MAX)


class VendorResultSerializer(serializers.Serializer):
    deliverable = VendorDeliverableSerializer()
    release = serializers.DictField(help_text="{key, planned_start, planned_end}")
    changed = serializers.BooleanField()
    replanned = serializers.BooleanField()
    reasons = ReasonSerializer(
        many=True,
        help_text="Deadlines the new plan misses: deadline_missed, compliance_deadline_missed.",
    )
    notified = serializers.BooleanField()


class VendorDeliverableViewSet(BaseModelViewSet):
    """Third-party deliverables a release waits for. ``mark-late`` re-plans the release."""

    queryset = VendorDeliverable.objects.select_related("release")
    serializer_class = VendorDeliverableSerializer
    filterset_class = VendorDeliverableFilterSet
    ordering_fields = ["expected_at", "created"]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list" and not self.request.query_params.get("ordering"):
            return deliverables_by_readiness(queryset)
        return queryset

    def required_permission(self):
        if self.action in ("mark_late", "mark_delivered"):
            return vendors.PERMISSION
        return None

    def _result(self, result: vendors.VendorResult) -> Response:
        release = result.release
        return Response(
            {
                "deliverable": VendorDeliverableSerializer(
                    result.deliverable, context=self.get_serializer_context()
                ).data,
                "release": {
                    "key": release.key,
                    "planned_start": _iso(release.planned_start),
                    "planned_end": _iso(release.planned_end),
                },
                "changed": result.changed,
                "replanned": result.replanned,
                "reasons": [_reason(r) for r in result.reasons],
                "notified": result.notified,
            }
        )

    @extend_schema(
        request=MarkLateSerializer,
        responses={
            200: VendorResultSerializer,
            400: OpenApiResponse(description="An earlier or past date, no reason"),
            409: OpenApiResponse(description="Already delivered"),
        },
    )
    @action(detail=True, methods=["post"], url_path="mark-late")
    def mark_late(self, request, pk=None):
        """The vendor slips to ``expected_at``: the release is re-planned after it (+ buffer)."""
        item = self.get_object()
        body = MarkLateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = vendors.mark_late(
                item,
                request.user,
                body.validated_data["expected_at"],
                body.validated_data["reason"],
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return self._result(result)

    @extend_schema(request=MarkDeliveredSerializer, responses={200: VendorResultSerializer})
    @action(detail=True, methods=["post"], url_path="mark-delivered")
    def mark_delivered(self, request, pk=None):
        """Record the delivery (default now); delivering again changes nothing."""
        item = self.get_object()
        body = MarkDeliveredSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = vendors.mark_delivered(
                item,
                request.user,
                body.validated_data.get("delivered_at"),
                body.validated_data.get("note", ""),
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from exc
        return self._result(result)


def register(router):
    router.register("go-live-rules", GoLiveRuleViewSet)
    router.register("vendor-deliverables", VendorDeliverableViewSet)


urlpatterns = [
    path("schedule-check/", ScheduleCheckView.as_view(), name="schedule-check"),
    path("rollout-plan/", RolloutPlanView.as_view(), name="rollout-plan"),
]
