"""``/api/v1/incidents/`` (``POST`` is the public contract pipelines and tools report with) and
``/api/v1/integrity-checks/`` with ``POST .../{id}/results/`` for jobs.

The rules are in ``metrics.incidents`` and ``metrics.integrity``: bad input answers 400 with
field errors and writes nothing; a repeated ``external_id`` answers 200 with the incident
already recorded when identical, 409 when different; a role that may not act 403; deciding on
a resolved or unattributed incident, or changing the checks of a closed release, 409.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from metrics import incidents, integrity, recovery
from metrics.filtersets_incidents import IncidentFilterSet, IntegrityCheckFilterSet
from metrics.models import Incident, IntegrityCheck, IntegrityResult, RecoveryDecision
from metrics.models.incidents import IncidentSeverity, IncidentStatus, RecoveryChoice
from metrics.models.integrity import IntegrityKind, IntegrityRelation
from releasemgr.api.viewsets import BaseModelViewSet
from releases.models import Deployment, Release, Service
from scheduling.api.exceptions import RefusalSerializer


def field_errors(exc, fields) -> serializers.ValidationError:
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        name = (reason.data or {}).get("field")
        errors.setdefault(name if name in fields else "non_field_errors", []).append(reason.message)
    return serializers.ValidationError(errors or {"non_field_errors": [exc.message]})


class RecoveryDecisionSerializer(serializers.ModelSerializer):
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    choice = serializers.ChoiceField(choices=RecoveryChoice.choices, read_only=True)
    recommendation = serializers.SerializerMethodField()

    class Meta:
        model = RecoveryDecision
        fields = ["id", "choice", "reason", "decided_by", "recommendation", "advice", "created"]
        read_only_fields = fields

    def get_recommendation(self, obj) -> str | None:
        return (obj.advice or {}).get("recommendation")


class IncidentSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    severity = serializers.ChoiceField(choices=IncidentSeverity.choices)
    status = serializers.ChoiceField(choices=IncidentStatus.choices, read_only=True)
    release = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Release.objects.all(),
        required=False,
        allow_null=True,
        help_text="Key of the release that caused it; omitted: attributed automatically.",
    )
    caused_by = serializers.PrimaryKeyRelatedField(
        queryset=Deployment.objects.select_related("environment", "release"),
        required=False,
        allow_null=True,
        help_text="Id of the production deployment that caused it.",
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    reported_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    recovery_decisions = RecoveryDecisionSerializer(many=True, read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id",
            "title",
            "description",
            "service",
            "severity",
            "status",
            "started_at",
            "detected_at",
            "resolved_at",
            "release",
            "caused_by",
            "attribution",
            "attribution_reason",
            "external_id",
            "reported_by",
            "recovery_decisions",
            "created",
            "updated",
        ]
        read_only_fields = ["attribution", "attribution_reason", "created", "updated"]

    def validate(self, attrs):
        if self.instance is not None:
            fixed = [
                name
                for name in ("service", "started_at", "release", "caused_by", "external_id")
                if name in attrs and attrs[name] != getattr(self.instance, name)
            ]
            if fixed:
                raise serializers.ValidationError(
                    {name: "Cannot change after the incident is reported." for name in fixed}
                )
        return attrs

    def create(self, validated_data):
        try:
            incident, created = incidents.report_incident(
                self.context["request"].user, **validated_data
            )
        except incidents.InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc
        self.created = created
        return incident

    def update(self, instance, validated_data):
        changes = {k: v for k, v in validated_data.items() if k in incidents.EDITABLE_FIELDS}
        try:
            return incidents.update_incident(instance, self.context["request"].user, **changes)
        except incidents.InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc


class StatusSerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False, allow_null=True, help_text="Default: now.")
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=90)


class DecideSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=RecoveryChoice.choices)
    reason = serializers.CharField(allow_blank=True, max_length=4000)


class RecoveryReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField()


class RecoveryAdviceSerializer(serializers.Serializer):
    incident = serializers.IntegerField()
    release = serializers.CharField(allow_null=True)
    recommendation = serializers.ChoiceField(choices=RecoveryChoice.choices, allow_null=True)
    summary = serializers.CharField()
    scores = serializers.DictField(child=serializers.IntegerField())
    reasons = RecoveryReasonSerializer(many=True)


class IncidentViewSet(BaseModelViewSet):
    """Production incidents, attributed to the release that caused them."""

    queryset = Incident.objects.select_related(
        "service", "release", "caused_by", "reported_by"
    ).prefetch_related(
        Prefetch(
            "recovery_decisions",
            queryset=RecoveryDecision.objects.select_related("decided_by").order_by("-created"),
        )
    )
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilterSet
    ordering_fields = ["started_at", "severity", "created"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def required_permission(self):
        if self.action in ("resolve", "mitigate"):
            return incidents.CHANGE_PERMISSION
        if self.action == "decide":
            return incidents.DECIDE_PERMISSION
        return None

    @extend_schema(
        responses={
            201: IncidentSerializer,
            200: OpenApiResponse(IncidentSerializer, description="Same external_id, identical."),
            409: OpenApiResponse(RefusalSerializer, description="Same external_id, different."),
        }
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = serializer.save()
        fresh = self.get_queryset().get(pk=incident.pk)
        code = status.HTTP_201_CREATED if serializer.created else status.HTTP_200_OK
        return Response(self.get_serializer(fresh).data, status=code)

    def _status(self, request, new_status):
        body = StatusSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            incident = incidents.set_status(
                self.get_object(),
                request.user,
                new_status,
                body.validated_data.get("at"),
                body.validated_data["comment"],
            )
        except incidents.InvalidInput as exc:
            raise field_errors(exc, {"at": 1, "resolved_at": 1}) from exc
        return Response(self.get_serializer(self.get_queryset().get(pk=incident.pk)).data)

    @extend_schema(
        request=StatusSerializer,
        responses={200: IncidentSerializer, 409: OpenApiResponse(RefusalSerializer)},
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """The incident is over: ``resolved_at`` (default now) ends its time to restore."""
        return self._status(request, IncidentStatus.RESOLVED)

    @extend_schema(
        request=StatusSerializer,
        responses={200: IncidentSerializer, 409: OpenApiResponse(RefusalSerializer)},
    )
    @action(detail=True, methods=["post"])
    def mitigate(self, request, pk=None):
        """The impact is contained, the cause not yet fixed."""
        return self._status(request, IncidentStatus.MITIGATED)

    @extend_schema(responses={200: RecoveryAdviceSerializer})
    @action(detail=True, methods=["get"])
    def advice(self, request, pk=None):
        """Roll back or fix forward: the decision aid with its reasons."""
        return Response(recovery.advise(self.get_object(), request.user).as_dict())

    @extend_schema(
        request=DecideSerializer,
        responses={
            201: RecoveryDecisionSerializer,
            409: OpenApiResponse(RefusalSerializer, description="Resolved or not attributed."),
        },
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """Record the decision to roll back or fix forward (release manager, deployer)."""
        body = DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            decision = incidents.decide(self.get_object(), request.user, **body.validated_data)
        except incidents.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(RecoveryDecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


# --- integrity checks ---------------------------------------------------------------------------


class IntegrityResultSerializer(serializers.ModelSerializer):
    posted_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    before_value = serializers.CharField(required=False, allow_blank=True, max_length=200)
    after_value = serializers.CharField(allow_blank=True, max_length=200)
    query_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    query_result = serializers.CharField(required=False, allow_blank=True, max_length=20000)

    class Meta:
        model = IntegrityResult
        fields = [
            "id",
            "before_value",
            "after_value",
            "query_name",
            "query_result",
            "passed",
            "explanation",
            "posted_by",
            "created",
        ]
        # Computed by metrics.integrity, never taken from the job.
        read_only_fields = ["passed", "explanation", "created"]


class IntegrityCheckSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    kind = serializers.ChoiceField(choices=IntegrityKind.choices)
    relation = serializers.ChoiceField(
        choices=IntegrityRelation.choices, default=IntegrityRelation.EQUAL
    )
    tolerance_percent = serializers.FloatField(required=False, min_value=0, default=0)
    latest_result = serializers.SerializerMethodField()
    passing = serializers.SerializerMethodField(
        help_text="Whether the latest result passed; null before the first result."
    )

    class Meta:
        model = IntegrityCheck
        fields = [
            "id",
            "release",
            "service",
            "name",
            "job_name",
            "kind",
            "relation",
            "tolerance_percent",
            "expected_value",
            "description",
            "latest_result",
            "passing",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]
        # Uniqueness of the name per release is checked (400) by metrics.integrity.
        validators = []

    def _latest(self, obj):
        results = list(obj.results.all())
        return results[0] if results else None

    def get_latest_result(self, obj) -> IntegrityResultSerializer(allow_null=True):
        latest = self._latest(obj)
        return IntegrityResultSerializer(latest).data if latest else None

    def get_passing(self, obj) -> bool | None:
        latest = self._latest(obj)
        return latest.passed if latest else None

    def validate_release(self, value):
        if self.instance is not None and value != self.instance.release:
            raise serializers.ValidationError("A check stays with its release.")
        return value

    def create(self, validated_data):
        release = validated_data.pop("release")
        try:
            return integrity.add_check(release, self.context["request"].user, **validated_data)
        except integrity.InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc

    def update(self, instance, validated_data):
        validated_data.pop("release", None)
        try:
            return integrity.edit_check(instance, self.context["request"].user, **validated_data)
        except integrity.InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc


class IntegrityCheckViewSet(BaseModelViewSet):
    """Data integrity checks of releases; jobs post their results to ``.../results/``."""

    queryset = IntegrityCheck.objects.select_related("release", "service").prefetch_related(
        Prefetch(
            "results",
            queryset=IntegrityResult.objects.select_related("posted_by").order_by(
                "-created", "-pk"
            ),
        )
    )
    serializer_class = IntegrityCheckSerializer
    filterset_class = IntegrityCheckFilterSet
    ordering_fields = ["name", "created"]

    def required_permission(self):
        if self.action == "results" and self.request.method == "POST":
            return integrity.POST_PERMISSION
        return None

    def perform_destroy(self, instance):
        integrity.delete_check(instance, self.request.user)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check = serializer.save()
        fresh = self.get_queryset().get(pk=check.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["POST"],
        request=IntegrityResultSerializer,
        responses={201: IntegrityResultSerializer, 409: OpenApiResponse(RefusalSerializer)},
    )
    @extend_schema(methods=["GET"], responses={200: IntegrityResultSerializer(many=True)})
    @action(detail=True, methods=["get", "post"])
    def results(self, request, pk=None):
        """GET: the check's results, newest first. POST (jobs): a measurement; whether it
        passed is computed from the values."""
        check = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(
                check.results.select_related("posted_by").order_by("-created", "-pk")
            )
            return self.get_paginated_response(IntegrityResultSerializer(page, many=True).data)
        body = IntegrityResultSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = integrity.post_result(check, request.user, **body.validated_data)
        except integrity.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(IntegrityResultSerializer(result).data, status=status.HTTP_201_CREATED)


def register(router):
    router.register("incidents", IncidentViewSet)
    router.register("integrity-checks", IntegrityCheckViewSet)


urlpatterns = []
