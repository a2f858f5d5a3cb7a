"""``/api/v1/defects/``, ``/api/v1/risk-acceptances/`` and ``POST /api/v1/releases/{key}/delay/``.

Every rule is in ``governance.defects``: bad input answers 400 with field errors and writes
nothing (an acceptance without an expiry included); a role that may not act answers 403, and
a contributor accepting the risk of their own release 403 with the reason (the refusal is
logged); resolving a closed defect, revoking twice or delaying a deploying release 409.
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import defects
from governance.choices import DefectSeverity, DefectStatus
from governance.filtersets_defects import (
    DefectFilterSet,
    RiskAcceptanceFilterSet,
    blocking_ids,
)
from governance.models import Defect, RiskAcceptance
from releasemgr.api.permissions import HasPermission
from releasemgr.api.viewsets import BaseModelViewSet
from releases.models import Release
from scheduling.api.exceptions import RefusalSerializer
from scheduling.models import Environment


def field_errors(exc: defects.InvalidInput, fields) -> serializers.ValidationError:
    """The decision's reasons as DRF field errors (unknown fields → non_field_errors)."""
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        field = (reason.data or {}).get("field")
        errors.setdefault(field if field in fields else "non_field_errors", []).append(
            reason.message
        )
    return serializers.ValidationError(errors)


class DefectSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    severity = serializers.ChoiceField(choices=DefectSeverity.choices)
    status = serializers.ChoiceField(choices=DefectStatus.choices, read_only=True)
    found_in = serializers.SlugRelatedField(
        slug_field="slug", queryset=Environment.objects.all(), required=False, allow_null=True
    )
    reported_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    blocking = serializers.SerializerMethodField(
        help_text="Open, critical or high, and covered by no active residual-risk acceptance."
    )

    class Meta:
        model = Defect
        fields = [
            "id",
            "release",
            "title",
            "description",
            "severity",
            "status",
            "reference",
            "found_in",
            "reported_by",
            "resolved_at",
            "escalated_at",
            "blocking",
            "created",
            "updated",
        ]
        read_only_fields = ["resolved_at", "escalated_at", "created", "updated"]

    def get_blocking(self, obj) -> bool:
        blocking = self.context.get("blocking_ids")
        if blocking is None:
            return obj.pk in blocking_ids([obj])
        return obj.pk in blocking

    def validate_release(self, value):
        if self.instance is not None and value != self.instance.release:
            raise serializers.ValidationError("A defect stays with the release it was found in.")
        return value

    def create(self, validated_data):
        try:
            return defects.report_defect(
                validated_data["release"],
                self.context["request"].user,
                title=validated_data["title"],
                severity=validated_data["severity"],
                description=validated_data.get("description", ""),
                reference=validated_data.get("reference", ""),
                found_in=validated_data.get("found_in"),
            )
        except defects.InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc

    def update(self, instance, validated_data):
        changes = {k: v for k, v in validated_data.items() if k in defects.EDITABLE_FIELDS}
        try:
            return defects.edit_defect(instance, self.context["request"].user, **changes)
        except defects.InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc


class ResolveSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[DefectStatus.RESOLVED, DefectStatus.WONT_FIX], default=DefectStatus.RESOLVED
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class DefectViewSet(BaseModelViewSet):
    """Defects found in releases before they ship. Open critical/high ones block the gate."""

    queryset = Defect.objects.select_related("release", "found_in", "reported_by")
    serializer_class = DefectSerializer
    filterset_class = DefectFilterSet
    ordering_fields = ["created", "severity", "status"]

    def required_permission(self):
        if self.action == "resolve":
            return defects.CHANGE_PERMISSION
        return None

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        context = {**self.get_serializer_context(), "blocking_ids": blocking_ids(page)}
        return self.get_paginated_response(DefectSerializer(page, many=True, context=context).data)

    @extend_schema(
        request=ResolveSerializer,
        responses={
            200: DefectSerializer,
            409: OpenApiResponse(RefusalSerializer, description="Already closed."),
        },
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Close an open defect as resolved (default) or won't fix."""
        defect = self.get_object()
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        resolved = defects.resolve_defect(defect, request.user, **body.validated_data)
        return Response(self.get_serializer(resolved).data)


class RiskAcceptanceSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    defects = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Defect.objects.all(), help_text="Ids of the open defects accepted."
    )
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Required; in the future and at most RISK_ACCEPTANCE_MAX_DAYS (30) away.",
    )
    rationale = serializers.CharField(allow_blank=True, max_length=4000)
    accepted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    revoked_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    state = serializers.SerializerMethodField(help_text="active, expired or revoked.")

    class Meta:
        model = RiskAcceptance
        fields = [
            "id",
            "release",
            "defects",
            "rationale",
            "expires_at",
            "accepted_by",
            "role",
            "state",
            "revoked_at",
            "revoked_by",
            "created",
        ]
        read_only_fields = ["role", "revoked_at", "created"]

    def get_state(self, obj) -> str:
        return defects.acceptance_state(obj)

    def create(self, validated_data):
        try:
            return defects.accept_residual_risk(
                validated_data["release"],
                validated_data["defects"],
                self.context["request"].user,
                validated_data["rationale"],
                validated_data.get("expires_at"),
            )
        except defects.InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


@extend_schema_view(
    create=extend_schema(
        responses={
            201: RiskAcceptanceSerializer,
            403: OpenApiResponse(
                RefusalSerializer, description="No permission, or segregation of duties."
            ),
        }
    )
)
class RiskAcceptanceViewSet(BaseModelViewSet):
    """Residual-risk acceptances: POST accepts (product owner, compliance officer)."""

    queryset = RiskAcceptance.objects.select_related(
        "release", "accepted_by", "revoked_by"
    ).prefetch_related("defects")
    serializer_class = RiskAcceptanceSerializer
    filterset_class = RiskAcceptanceFilterSet
    ordering_fields = ["created", "expires_at"]
    http_method_names = ["get", "post", "head", "options"]
    # A segregation-of-duties refusal is logged; the refused request must not roll it back.
    atomic_writes = False

    def required_permission(self):
        if self.action in ("create", "revoke"):
            return defects.ACCEPT_PERMISSION
        return None

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        acceptance = serializer.save()
        fresh = self.get_queryset().get(pk=acceptance.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=RevokeSerializer,
        responses={
            200: RiskAcceptanceSerializer,
            409: OpenApiResponse(RefusalSerializer, description="Already revoked."),
        },
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Withdraw an acceptance: its defects block the release again."""
        body = RevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        revoked = defects.revoke(self.get_object(), request.user, body.validated_data["reason"])
        return Response(self.get_serializer(self.get_queryset().get(pk=revoked.pk)).data)


class DelaySerializer(serializers.Serializer):
    planned_start = serializers.DateTimeField(required=False, allow_null=True)
    planned_end = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Omitted: keeps the planned duration."
    )
    reason = serializers.CharField(allow_blank=True, max_length=500)


class DelayAnswerSerializer(serializers.Serializer):
    key = serializers.CharField()
    state = serializers.CharField()
    planned_start = serializers.DateTimeField()
    planned_end = serializers.DateTimeField(allow_null=True)


class ReleaseDelayView(APIView):
    permission_classes = [HasPermission.of(defects.DELAY_PERMISSION)]

    @extend_schema(
        request=DelaySerializer,
        responses={
            200: DelayAnswerSerializer,
            409: OpenApiResponse(RefusalSerializer, description="Deploying or finished."),
        },
    )
    def post(self, request, key):
        """Re-plan a release (the other way out of a late defect): new dates and a reason."""
        release = get_object_or_404(Release, key=key)
        body = DelaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            delayed = defects.delay_release(
                release,
                request.user,
                data.get("planned_start"),
                data.get("planned_end"),
                data["reason"],
            )
        except defects.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(
            {
                "key": delayed.key,
                "state": delayed.state,
                "planned_start": delayed.planned_start,
                "planned_end": delayed.planned_end,
            }
        )


def register(router):
    router.register("defects", DefectViewSet)
    router.register("risk-acceptances", RiskAcceptanceViewSet)


urlpatterns = [
    path("releases/<releasekey:key>/delay/", ReleaseDelayView.as_view(), name="release-delay")
]
