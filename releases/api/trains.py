"""``/api/v1/trains/`` (+ ``advice``, ``decouple``), ``/api/v1/train-cars/``,
``/api/v1/library-usages/``, ``/api/v1/library-pins/`` and ``GET /api/v1/libraries/conflicts/``.

The rules are in ``releases.trains`` and ``releases.libraries``: a cadence that is not an RRULE,
a version that is not semantic, a departure that is not one of the train's answer 400 with
field errors and write nothing; splitting a release that is no longer editable answers 409.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from releasemgr.api.permissions import HasPermission
from releasemgr.api.viewsets import BaseModelViewSet
from releases import libraries, trains
from releases.filtersets_trains import (
    LibraryUsageFilterSet,
    ReleaseLibraryPinFilterSet,
    ReleaseTrainFilterSet,
    TrainCarFilterSet,
)
from releases.models import Release, Service
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain, TrainCar
from scheduling.api.exceptions import RefusalSerializer
from scheduling.forms import describe_rrule


class TrainReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField()


def _reasons(reasons) -> list[dict]:
    return [
        {"code": r.code, "passed": r.passed, "message": r.message, "data": r.data} for r in reasons
    ]


class ReleaseTrainSerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who created the train."
    )
    cadence_text = serializers.SerializerMethodField()
    next_departures = serializers.SerializerMethodField()

    class Meta:
        model = ReleaseTrain
        fields = [
            "slug",
            "name",
            "cadence",
            "cadence_text",
            "dtstart",
            "time_zone",
            "owner",
            "description",
            "active",
            "next_departures",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    def get_cadence_text(self, obj) -> str:
        return describe_rrule(obj.cadence)

    def get_next_departures(self, obj) -> list[str]:
        return [d.isoformat() for d in trains.next_departures(obj, 3)] if obj.active else []

    def create(self, validated_data):
        train = ReleaseTrain(**validated_data, owner=self.context["request"].user)
        train.save_with_reason("created", user=self.context["request"].user)
        return train

    def update(self, instance, validated_data):
        for field, value in validated_data.items():
            setattr(instance, field, value)
        instance.save_with_reason("edited", user=self.context["request"].user)
        return instance


class DecoupleSerializer(serializers.Serializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    reason = serializers.CharField(max_length=500)


class DecoupledSerializer(serializers.Serializer):
    release = serializers.CharField(help_text="The release the service now ships in.")
    left_train = serializers.BooleanField(
        help_text="True when the release shipped only this service and left the train."
    )


class AdviceSerializer(serializers.Serializer):
    departure = serializers.DateTimeField(allow_null=True)
    decouple = serializers.ListField(child=serializers.CharField())
    reasons = TrainReasonSerializer(many=True)


class ReleaseTrainViewSet(BaseModelViewSet):
    """Release trains: a cadence bundling releases of several services."""

    queryset = ReleaseTrain.objects.select_related("owner")
    serializer_class = ReleaseTrainSerializer
    filterset_class = ReleaseTrainFilterSet
    lookup_field = "slug"
    ordering_fields = ["name", "created"]

    def required_permission(self):
        if self.action == "decouple":
            return "releases.change_releasetrain"
        if self.action == "advice":
            return "releases.view_releasetrain"
        return None

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "departure", str, description="ISO datetime of one departure; omitted: upcoming."
            )
        ],
        responses={200: AdviceSerializer},
    )
    @action(detail=True, methods=["get"])
    def advice(self, request, slug=None):
        """Which services to decouple from the train, and why (with numbers)."""
        train = self.get_object()
        departure = None
        if request.query_params.get("departure"):
            field = serializers.DateTimeField()
            try:
                departure = field.to_internal_value(request.query_params["departure"])
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"departure": exc.detail}) from exc
        decision = trains.decoupling_advice(train, departure)
        return Response(
            {
                "departure": departure,
                "decouple": sorted({r.data["service"] for r in decision.failed}),
                "reasons": _reasons(decision.reasons),
            }
        )

    @extend_schema(
        request=DecoupleSerializer,
        responses={
            200: DecoupledSerializer,
            409: OpenApiResponse(RefusalSerializer, description="The release is not editable."),
        },
    )
    @action(detail=True, methods=["post"])
    def decouple(self, request, slug=None):
        """Move a service out of a train release into its own release (keeps history)."""
        train = self.get_object()
        body = DecoupleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = trains.decouple(
            train, data["release"], data["service"], request.user, data["reason"]
        )
        return Response(
            {"release": result.key, "left_train": result.pk == data["release"].pk},
            status=status.HTTP_200_OK,
        )


class TrainCarSerializer(serializers.ModelSerializer):
    train = serializers.SlugRelatedField(slug_field="slug", queryset=ReleaseTrain.objects.all())
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    departure = serializers.DateTimeField(
        required=False, allow_null=True, help_text="One of the train's departures; default next."
    )

    class Meta:
        model = TrainCar
        fields = ["id", "train", "release", "departure", "created"]
        read_only_fields = ["created"]
        validators = []  # one train per release: checked by trains.add_release with a message

    def create(self, validated_data):
        return trains.add_release(
            validated_data["train"],
            validated_data["release"],
            validated_data.get("departure"),
            self.context["request"].user,
        )


class TrainCarViewSet(BaseModelViewSet):
    """Which release rides which train departure. POST adds a release (draft or rejected)."""

    queryset = TrainCar.objects.select_related("train", "release")
    serializer_class = TrainCarSerializer
    filterset_class = TrainCarFilterSet
    http_method_names = ["get", "post", "delete", "head", "options"]
    ordering_fields = ["departure", "created"]

    def perform_destroy(self, instance):
        # Only while the release is editable (409 otherwise), like the train page.
        trains.remove_release(instance.train, instance.release, self.request.user)


def _model_clean(instance, attrs, model):
    obj = model(**{**({} if instance is None else _current(instance)), **attrs})
    try:
        obj.clean()
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from exc


def _current(instance) -> dict:
    return {f.name: getattr(instance, f.name) for f in instance._meta.concrete_fields}


class _Saving:
    def create(self, validated_data):
        obj = self.Meta.model(**validated_data)
        obj.save_with_reason("declared", user=self.context["request"].user)
        return obj

    def update(self, instance, validated_data):
        for field, value in validated_data.items():
            setattr(instance, field, value)
        instance.save_with_reason("edited", user=self.context["request"].user)
        return instance


class LibraryUsageSerializer(_Saving, serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    library = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    team = serializers.CharField(source="service.team.name", read_only=True)

    class Meta:
        model = LibraryUsage
        fields = ["id", "service", "team", "library", "version", "since", "created", "updated"]
        read_only_fields = ["created", "updated"]

    def validate(self, attrs):
        _model_clean(self.instance, attrs, LibraryUsage)
        return attrs


class LibraryUsageViewSet(BaseModelViewSet):
    """The version of a shared library each service uses."""

    queryset = LibraryUsage.objects.select_related("service__team", "library")
    serializer_class = LibraryUsageSerializer
    filterset_class = LibraryUsageFilterSet
    ordering_fields = ["since", "created"]


class ReleaseLibraryPinSerializer(_Saving, serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    library = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())

    class Meta:
        model = ReleaseLibraryPin
        fields = ["id", "release", "library", "version", "created", "updated"]
        read_only_fields = ["created", "updated"]

    def validate(self, attrs):
        release = attrs.get("release") or (self.instance.release if self.instance else None)
        if release is not None and not release.is_editable:
            raise serializers.ValidationError(
                {"release": f"{release.key} is {release.state}: its pins can no longer change."}
            )
        _model_clean(self.instance, attrs, ReleaseLibraryPin)
        return attrs


class ReleaseLibraryPinViewSet(BaseModelViewSet):
    """The version of a shared library a release brings its services onto."""

    queryset = ReleaseLibraryPin.objects.select_related("release", "library")
    serializer_class = ReleaseLibraryPinSerializer
    filterset_class = ReleaseLibraryPinFilterSet
    ordering_fields = ["created"]

    def perform_destroy(self, instance):
        libraries.delete_pin(instance, self.request.user)


class ConflictQuerySerializer(serializers.Serializer):
    library = serializers.SlugRelatedField(
        slug_field="slug", queryset=libraries.shared_libraries(), required=False
    )
    release = serializers.SlugRelatedField(
        slug_field="key", queryset=Release.objects.all(), required=False
    )


class ConflictSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="library_version_conflict or library_pin_conflict")
    message = serializers.CharField()
    library = serializers.CharField()
    releases = serializers.ListField(child=serializers.CharField())
    services = serializers.ListField(child=serializers.DictField())
    teams = serializers.ListField(child=serializers.CharField())


class ConflictListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = ConflictSerializer(many=True)


class LibraryConflictsView(APIView):
    permission_classes = [HasPermission.of("releases.view_releaselibrarypin")]

    @extend_schema(parameters=[ConflictQuerySerializer], responses={200: ConflictListSerializer})
    def get(self, request):
        """Shared-library flags: services left on incompatible versions, releases pinning
        different versions; each names the services, versions and teams."""
        query = ConflictQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = libraries.conflicts(
            release=query.validated_data.get("release"),
            library=query.validated_data.get("library"),
        )
        results = [{"code": r.code, "message": r.message, **r.data} for r in found]
        return Response({"count": len(results), "results": results})


def register(router):
    router.register("trains", ReleaseTrainViewSet)
    router.register("train-cars", TrainCarViewSet)
    router.register("library-usages", LibraryUsageViewSet)
    router.register("library-pins", ReleaseLibraryPinViewSet)


urlpatterns = [
    path("libraries/conflicts/", LibraryConflictsView.as_view(), name="library-conflicts"),
]
