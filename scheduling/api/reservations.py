"""API for environment bookings, test data sets, validation needs, release dependencies and
the sequencing plan.

Bookings go through ``scheduling.reservations`` (capacity and data-set refusals are 409 with
the checks that failed; a period in the past or a production environment is 400); DELETE
cancels a booking (it stays in history).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from releasemgr.api.permissions import HasPermission
from releasemgr.api.serializers import ValidatedModelSerializer
from releasemgr.api.viewsets import BaseModelViewSet
from releases.models import Release
from scheduling import reservations, sequencer
from scheduling.filtersets_reservations import (
    ReleaseDependencyFilterSet,
    ReservationFilterSet,
    TestDataSetFilterSet,
    ValidationNeedFilterSet,
)
from scheduling.models import (
    Environment,
    ReleaseDependency,
    Reservation,
    TestDataSet,
    ValidationNeed,
)

# Refusals about the input itself (400), as opposed to the state of the calendar (409).
INPUT_CODES = {"reservation_period": "end", "production_environment": "environment"}


class ReservationSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    environment = serializers.SlugRelatedField(
        slug_field="slug", queryset=Environment.objects.all()
    )
    test_data_sets = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=TestDataSet.objects.prefetch_related("environments"),
        many=True,
        required=False,
        help_text="Slugs of the shared test data sets the validation uses.",
    )
    reserved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    status = serializers.SerializerMethodField(
        help_text="active, upcoming, past or cancelled (at the time of the answer)."
    )

    class Meta:
        model = Reservation
        fields = [
            "id",
            "release",
            "environment",
            "purpose",
            "start",
            "end",
            "test_data_sets",
            "notes",
            "reserved_by",
            "status",
            "cancelled_at",
            "created",
            "updated",
        ]
        read_only_fields = ["cancelled_at", "created", "updated"]

    def get_status(self, obj) -> str:
        now = timezone.now()
        if obj.cancelled_at is not None:
            return "cancelled"
        if obj.end <= now:
            return "past"
        return "active" if obj.start <= now else "upcoming"

    def validate(self, attrs):
        attrs = super().validate(attrs)
        instance = self.instance
        env = attrs.get("environment") or (instance.environment if instance else None)
        start = attrs.get("start") or (instance.start if instance else None)
        end = attrs.get("end") or (instance.end if instance else None)
        if instance is not None and "environment" in attrs and env != instance.environment:
            raise serializers.ValidationError(
                {"environment": "A booking cannot move to another environment; book it anew."}
            )
        if instance is not None and "release" in attrs and attrs["release"] != instance.release:
            raise serializers.ValidationError(
                {"release": "A booking cannot move to another release; book it anew."}
            )
        # The input's own problems are 400 here; the calendar's (capacity, data sets) are 409 later.
        problems = [
            r
            for r in reservations.conflicts(
                env,
                start,
                end,
                (),
                check_past=instance is None or start != instance.start,
            )
            if r.code in INPUT_CODES
        ]
        if problems:
            errors: dict[str, list[str]] = {}
            for reason in problems:
                errors.setdefault(INPUT_CODES[reason.code], []).append(reason.message)
            raise serializers.ValidationError(errors)
        return attrs

    def create(self, validated_data):
        return reservations.reserve(
            validated_data["release"],
            validated_data["environment"],
            self.context["request"].user,
            validated_data["purpose"],
            validated_data["start"],
            validated_data["end"],
            validated_data.get("test_data_sets", []),
            validated_data.get("notes", ""),
        )

    def update(self, instance, validated_data):
        return reservations.change(
            instance,
            self.context["request"].user,
            purpose=validated_data.get("purpose"),
            start=validated_data.get("start"),
            end=validated_data.get("end"),
            test_data_sets=validated_data.get("test_data_sets"),
            notes=validated_data.get("notes"),
        )


class AvailabilityQuerySerializer(serializers.Serializer):
    environment = serializers.SlugRelatedField(
        slug_field="slug", queryset=Environment.objects.all()
    )
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    data_sets = serializers.CharField(
        required=False, default="", help_text="Comma-separated test data set slugs."
    )
    release = serializers.SlugRelatedField(
        slug_field="key", queryset=Release.objects.all(), required=False
    )

    def validate_data_sets(self, value):
        slugs = [s.strip() for s in value.split(",") if s.strip()]
        found = list(TestDataSet.objects.filter(slug__in=slugs).prefetch_related("environments"))
        missing = sorted(set(slugs) - {d.slug for d in found})
        if missing:
            raise serializers.ValidationError(f"Unknown test data set(s): {', '.join(missing)}.")
        return found


class ReservationViewSet(BaseModelViewSet):
    """Environment bookings. POST books (409 with the failing checks when the environment is
    full or a data set is in use); PATCH moves or edits; DELETE cancels."""

    queryset = (
        Reservation.objects.select_related("environment", "release", "reserved_by")
        .prefetch_related("test_data_sets")
        .order_by("-start", "-pk")
    )
    serializer_class = ReservationSerializer
    filterset_class = ReservationFilterSet
    ordering_fields = ["start", "end", "created"]

    @property
    def required_permission(self):
        if self.action == "availability":
            return "scheduling.view_reservation"
        if self.action == "cancel":
            return "scheduling.change_reservation"
        return None

    def destroy(self, request, *args, **kwargs):
        reservations.cancel(self.get_object(), request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: ReservationSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the booking: its place and data sets are free at once; it stays in history."""
        booking = reservations.cancel(self.get_object(), request.user)
        return Response(self.get_serializer(booking).data)

    @extend_schema(
        parameters=[AvailabilityQuerySerializer],
        responses={
            200: inline_serializer(
                "Availability",
                {
                    "available": serializers.BooleanField(),
                    "checks": serializers.ListField(child=serializers.DictField()),
                    "free_slots": serializers.ListField(child=serializers.DictField()),
                },
            )
        },
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def availability(self, request):
        """Could this be booked? The reasons it could not, and the next free periods."""
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        env, start, end = data["environment"], data["start"], data["end"]
        checks = reservations.conflicts(
            env, start, end, data["data_sets"], release=data.get("release")
        )
        slots = []
        if end > start and not any(r.code in INPUT_CODES for r in checks):
            slots = reservations.free_slots(
                env,
                end - start,
                max(start, timezone.now()),
                data_sets=data["data_sets"],
                count=3,
            )
        return Response(
            {
                "available": not checks,
                "checks": [
                    {"code": r.code, "passed": r.passed, "message": r.message, "data": r.data}
                    for r in checks
                ],
                "free_slots": [
                    {"start": s.start.isoformat(), "end": s.end.isoformat()} for s in slots
                ],
            }
        )


class TestDataSetSerializer(ValidatedModelSerializer):
    __test__ = False  # not a pytest test class

    environments = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Environment.objects.all(),
        many=True,
        required=False,
        help_text="Environments the data is loaded in (where it can be booked).",
    )

    class Meta:
        model = TestDataSet
        fields = ["slug", "name", "description", "environments", "created", "updated"]
        skip_model_validation = ("environments",)

    def validate_environments(self, value):
        production = [e.slug for e in value if e.is_production]
        if production:
            raise serializers.ValidationError(
                f"Test data sets are for non-production environments ({', '.join(production)})."
            )
        return value


class TestDataSetViewSet(BaseModelViewSet):
    __test__ = False

    queryset = TestDataSet.objects.prefetch_related("environments").order_by("name")
    serializer_class = TestDataSetSerializer
    filterset_class = TestDataSetFilterSet
    lookup_field = "slug"
    ordering_fields = ["name", "slug"]


class ValidationNeedSerializer(ValidatedModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    environment = serializers.SlugRelatedField(
        slug_field="slug", queryset=Environment.objects.all()
    )

    class Meta:
        model = ValidationNeed
        fields = ["id", "release", "environment", "hours", "created", "updated"]


class ValidationNeedViewSet(BaseModelViewSet):
    queryset = ValidationNeed.objects.select_related("release", "environment").order_by(
        "release__key", "environment__order"
    )
    serializer_class = ValidationNeedSerializer
    filterset_class = ValidationNeedFilterSet
    ordering_fields = ["hours"]


class ReleaseDependencySerializer(ValidatedModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    after = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Release.objects.all(),
        help_text="The release that must ship first.",
    )

    class Meta:
        model = ReleaseDependency
        fields = ["id", "release", "after", "reason", "created", "updated"]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        release = attrs.get("release") or self.instance.release
        after = attrs.get("after") or self.instance.after
        if release.pk == after.pk:
            raise serializers.ValidationError({"after": "A release cannot ship after itself."})
        if self.instance is None or (release, after) != (
            self.instance.release,
            self.instance.after,
        ):
            cycle = sequencer.cycle_through(release, after)
            if cycle:
                chain = ", ".join(f"{a} after {b}" for a, b in zip(cycle, cycle[1:], strict=False))
                raise serializers.ValidationError(
                    {"after": f"That would make a dependency cycle: {chain}."}
                )
        return attrs


class ReleaseDependencyViewSet(BaseModelViewSet):
    queryset = ReleaseDependency.objects.select_related("release", "after").order_by(
        "release__key", "after__key"
    )
    serializer_class = ReleaseDependencySerializer
    filterset_class = ReleaseDependencyFilterSet


# --- the sequencing plan ------------------------------------------------------------------------


class PlanQuerySerializer(serializers.Serializer):
    quarter = serializers.CharField(required=False, help_text="e.g. 2027-Q1")
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        if attrs.get("quarter"):
            if attrs.get("since") or attrs.get("until"):
                raise serializers.ValidationError("Give either quarter or since/until, not both.")
            try:
                attrs["since"], attrs["until"] = sequencer.quarter_bounds(attrs["quarter"])
            except ValueError as exc:
                raise serializers.ValidationError({"quarter": str(exc)}) from exc
            return attrs
        if not attrs.get("since") or not attrs.get("until"):
            quarter = sequencer.quarter_of(timezone.now())
            if attrs.get("since") or attrs.get("until"):
                raise serializers.ValidationError("Give both since and until (or a quarter).")
            attrs["quarter"] = quarter
            attrs["since"], attrs["until"] = sequencer.quarter_bounds(quarter)
            return attrs
        if attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": "until must be after since."})
        return attrs


def _iso(value: datetime) -> str:
    return value.isoformat()


class SequencingPlanView(APIView):
    permission_classes = [HasPermission.of("releases.view_release")]

    @extend_schema(
        parameters=[
            OpenApiParameter("quarter", OpenApiTypes.STR, description="e.g. 2027-Q1"),
            OpenApiParameter("since", OpenApiTypes.DATETIME),
            OpenApiParameter("until", OpenApiTypes.DATETIME),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        """The proposed sequence of a quarter's (or a period's) releases: slots per environment,
        ship dates, whether each deadline is met and why not; dependency cycles as errors."""
        query = PlanQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        since, until = query.validated_data["since"], query.validated_data["until"]
        with transaction.atomic():  # one consistent snapshot of the data
            result = sequencer.plan(
                sequencer.releases_for(since, until),
                Environment.objects.order_by("order"),
                sequencer.plan_start(since),
            )
        body = {
            "quarter": query.validated_data.get("quarter"),
            "since": _iso(since),
            "until": _iso(until),
            **result.as_dict(),
        }
        return Response(body)


def register(router):
    router.register("reservations", ReservationViewSet)
    router.register("test-data-sets", TestDataSetViewSet)
    router.register("validation-needs", ValidationNeedViewSet)
    router.register("release-dependencies", ReleaseDependencyViewSet)


urlpatterns = [
    path("sequencing/plan/", SequencingPlanView.as_view(), name="sequencing-plan"),
]
