"""API versions and their consumers, what releases do to them, hotfix carry-forward and
integration test sign-off (issue 5, items 8, 10 and 13).

``/api/v1/api-versions/``, ``/api/v1/api-consumers/``, ``/api/v1/api-changes/``,
``/api/v1/integration-flows/`` (+ ``POST {id}/sign/``), and per release
``GET /api/v1/releases/{key}/api-compatibility/``, ``.../carry-forward/``, ``.../integration/``.
The rules live in ``releases.api_compat``, ``releases.hotfixes`` and ``releases.integration``;
bad input answers 400 with field errors and writes nothing.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from releasemgr.api.permissions import HasPermission
from releasemgr.api.viewsets import BaseModelViewSet
from releases import api_compat, hotfixes, integration
from releases.filtersets_interfaces import (
    ApiChangeFilterSet,
    ApiConsumerFilterSet,
    ApiVersionFilterSet,
    IntegrationFlowFilterSet,
)
from releases.models import (
    ApiChange,
    ApiConsumer,
    ApiVersion,
    IntegrationFlow,
    Release,
    Service,
    Team,
)
from releases.models.interfaces import ApiChangeKind, ApiVersionStatus, SignOffStatus
from scheduling.api.exceptions import RefusalSerializer
from scheduling.api.planning import ReasonSerializer


def _model_clean(model, attrs, instance=None):
    """Run the model's own ``clean`` on the would-be object (no second copy of the rules)."""
    obj = instance or model()
    for name, value in attrs.items():
        if not isinstance(value, list):
            setattr(obj, name, value)
    try:
        obj.clean()
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from exc
    return attrs


def _field_errors(exc: integration.InvalidInput, fields) -> serializers.ValidationError:
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        name = (reason.data or {}).get("field")
        errors.setdefault(name if name in fields else "non_field_errors", []).append(reason.message)
    return serializers.ValidationError(errors or {"non_field_errors": [exc.message]})


# --- API versions, consumers, changes -----------------------------------------------------------


class ApiConsumerSerializer(serializers.ModelSerializer):
    api_version = serializers.PrimaryKeyRelatedField(queryset=ApiVersion.objects.all())
    consumer_service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    team = serializers.SerializerMethodField(help_text="Team owning the consumer service.")

    class Meta:
        model = ApiConsumer
        fields = [
            "id",
            "api_version",
            "consumer_service",
            "team",
            "external_client",
            "contact",
            "created",
        ]
        read_only_fields = ["created"]

    def get_team(self, obj) -> str | None:
        return obj.consumer_service.team.slug if obj.consumer_service_id else None

    def validate(self, attrs):
        return _model_clean(ApiConsumer, attrs, self.instance)


class ApiVersionSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    status = serializers.ChoiceField(choices=ApiVersionStatus.choices, required=False)
    consumers = serializers.SerializerMethodField(help_text="Who still calls this version.")
    schedule = serializers.SerializerMethodField(help_text="The deprecation schedule, in words.")

    class Meta:
        model = ApiVersion
        fields = [
            "id",
            "service",
            "name",
            "version",
            "status",
            "deprecated_on",
            "sunset_on",
            "description",
            "consumers",
            "schedule",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    def get_consumers(self, obj) -> list[dict]:
        return [
            {"id": c.pk, "name": c.consumer_name, **api_compat.consumer_data(c)}
            for c in obj.consumers.all()
        ]

    def get_schedule(self, obj) -> str:
        return api_compat.schedule(obj).message

    def validate(self, attrs):
        return _model_clean(ApiVersion, attrs, self.instance)


class ApiChangeSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    api_version = serializers.PrimaryKeyRelatedField(queryset=ApiVersion.objects.all())
    change = serializers.ChoiceField(choices=ApiChangeKind.choices)
    flagged = serializers.SerializerMethodField(
        help_text="Breaks or removes a version that is not retired and still has consumers."
    )
    message = serializers.SerializerMethodField()

    class Meta:
        model = ApiChange
        fields = ["id", "release", "api_version", "change", "note", "flagged", "message"]

    def get_flagged(self, obj) -> bool:
        return not api_compat.change_reason(obj).passed

    def get_message(self, obj) -> str:
        return api_compat.change_reason(obj).message

    def validate(self, attrs):
        release = attrs.get("release") or getattr(self.instance, "release", None)
        if self.instance is not None and attrs.get("release", release) != self.instance.release:
            raise serializers.ValidationError({"release": "An API change stays with its release."})
        if release is not None and release.state in integration.FINISHED_STATES:
            raise serializers.ValidationError({"release": f"{release.key} will not ship."})
        return attrs


class ApiVersionViewSet(BaseModelViewSet):
    """API versions services publish, with consumers and deprecation schedule."""

    queryset = api_compat.versions_with_consumers()
    serializer_class = ApiVersionSerializer
    filterset_class = ApiVersionFilterSet
    ordering_fields = ["name", "version", "sunset_on", "created"]


class ApiConsumerViewSet(BaseModelViewSet):
    """Who consumes an API version: a service of ours or a named external client."""

    queryset = ApiConsumer.objects.select_related("consumer_service__team", "api_version")
    serializer_class = ApiConsumerSerializer
    filterset_class = ApiConsumerFilterSet


class ApiChangeViewSet(BaseModelViewSet):
    """What releases do to API versions; ``flagged`` names a change that breaks consumers."""

    queryset = ApiChange.objects.select_related("release", "api_version__service").prefetch_related(
        "api_version__consumers__consumer_service__team"
    )
    serializer_class = ApiChangeSerializer
    filterset_class = ApiChangeFilterSet


# --- integration flows --------------------------------------------------------------------------


class IntegrationFlowSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(
        slug_field="key", queryset=Release.objects.all(), source="plan.release"
    )
    services = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), many=True
    )
    teams = serializers.SerializerMethodField(help_text="Each team the flow spans, its verdict.")
    complete = serializers.SerializerMethodField()

    class Meta:
        model = IntegrationFlow
        fields = ["id", "release", "name", "description", "services", "teams", "complete"]

    def get_teams(self, obj) -> list[dict]:
        return [
            {
                "team": t.team.slug,
                "status": t.status,
                "signed_by": t.sign_off.signed_by.get_username()
                if t.sign_off and t.sign_off.signed_by
                else None,
                "signed_at": t.sign_off.signed_at if t.sign_off else None,
                "note": t.sign_off.note if t.sign_off else "",
                "services": [s.slug for s in t.services],
            }
            for t in integration.flow_status(obj).teams
        ]

    def get_complete(self, obj) -> bool:
        return integration.flow_status(obj).complete

    def create(self, validated_data):
        try:
            return integration.add_flow(
                validated_data["plan"]["release"],
                self.context["request"].user,
                name=validated_data["name"],
                services=validated_data["services"],
                description=validated_data.get("description", ""),
            )
        except integration.InvalidInput as exc:
            raise _field_errors(exc, self.fields) from exc

    def update(self, instance, validated_data):
        plan = validated_data.pop("plan", None)
        if plan and plan["release"] != instance.plan.release:
            raise serializers.ValidationError({"release": "A flow stays with its release."})
        services = validated_data.pop("services", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        instance.save_with_reason("edited", user=self.context["request"].user)
        if services is not None:
            instance.services.set(services)
        return instance


class SignSerializer(serializers.Serializer):
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all())
    status = serializers.ChoiceField(
        choices=[SignOffStatus.SIGNED, SignOffStatus.REFUSED], default=SignOffStatus.SIGNED
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class IntegrationFlowViewSet(BaseModelViewSet):
    """End-to-end flows of releases' integration test plans; teams sign them off."""

    queryset = integration.flows_queryset().select_related("plan__release")
    serializer_class = IntegrationFlowSerializer
    filterset_class = IntegrationFlowFilterSet

    def required_permission(self):
        return integration.SIGN_PERMISSION if self.action == "sign" else None

    @extend_schema(
        request=SignSerializer,
        responses={
            200: IntegrationFlowSerializer,
            403: OpenApiResponse(RefusalSerializer, description="Not a member of the team."),
        },
    )
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        """Sign the flow off (or refuse it, with a note) for a team you are a member of."""
        flow = self.get_object()
        body = SignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            integration.sign(
                flow,
                data["team"],
                request.user,
                data["note"],
                refuse=data["status"] == SignOffStatus.REFUSED,
            )
        except integration.InvalidInput as exc:
            raise _field_errors(exc, body.fields) from exc
        return Response(self.get_serializer(self.get_queryset().get(pk=flow.pk)).data)


# --- per release --------------------------------------------------------------------------------


class CompatibilitySerializer(serializers.Serializer):
    release = serializers.CharField()
    compatible = serializers.BooleanField()
    reasons = ReasonSerializer(many=True)


class CarrySerializer(serializers.Serializer):
    hotfix = serializers.CharField()
    release = serializers.CharField()
    release_state = serializers.CharField()
    planned_start = serializers.DateTimeField(allow_null=True)
    carried = serializers.BooleanField()
    referenced = serializers.BooleanField()
    services = serializers.ListField(child=serializers.DictField())
    scope_items = serializers.ListField(child=serializers.DictField())


class CarryForwardSerializer(serializers.Serializer):
    release = serializers.CharField()
    is_hotfix = serializers.BooleanField()
    based_on_production = ReasonSerializer(many=True, allow_null=True)
    carry = CarrySerializer(many=True)


class IntegrationStatusSerializer(serializers.Serializer):
    release = serializers.CharField()
    complete = serializers.BooleanField()
    reasons = ReasonSerializer(many=True)
    flows = IntegrationFlowSerializer(many=True)


def _release(key):
    return get_object_or_404(Release.objects.prefetch_related("release_services__service"), key=key)


class ReleaseCompatibilityView(APIView):
    permission_classes = [HasPermission.of("releases.view_apichange")]

    @extend_schema(responses={200: CompatibilitySerializer})
    def get(self, request, key):
        """The release's API changes; a failed reason names the consumers it would break."""
        release = _release(key)
        decision = api_compat.check(release)
        return Response(
            {
                "release": release.key,
                "compatible": decision.allowed,
                "reasons": [r.as_dict() for r in decision.reasons],
            }
        )


class ReleaseCarryForwardView(APIView):
    permission_classes = [HasPermission.of("releases.view_release")]

    @extend_schema(responses={200: CarryForwardSerializer})
    def get(self, request, key):
        """For a hotfix: the later releases that must carry it. Otherwise: the hotfixes the
        release must carry. ``carried`` says whether it already does."""
        release = _release(key)
        is_hotfix = hotfixes.is_hotfix(release)
        base = hotfixes.based_on_production(release) if is_hotfix else None
        return Response(
            {
                "release": release.key,
                "is_hotfix": is_hotfix,
                "based_on_production": [r.as_dict() for r in base.reasons] if base else None,
                "carry": [c.as_dict() for c in hotfixes.for_release(release)],
            }
        )


class ReleaseIntegrationView(APIView):
    permission_classes = [HasPermission.of("releases.view_integrationtestplan")]

    @extend_schema(responses={200: IntegrationStatusSerializer})
    def get(self, request, key):
        """The integration test plan: flows, their teams and sign-offs; complete or not."""
        release = _release(key)
        result = integration.release_status(release)
        flows = [fs.flow for fs in result.flows]
        return Response(
            {
                "release": release.key,
                "complete": result.complete,
                "reasons": [r.as_dict() for r in result.decision.reasons],
                "flows": IntegrationFlowSerializer(
                    flows, many=True, context={"request": request}
                ).data,
            }
        )


def register(router):
    router.register("api-versions", ApiVersionViewSet)
    router.register("api-consumers", ApiConsumerViewSet)
    router.register("api-changes", ApiChangeViewSet)
    router.register("integration-flows", IntegrationFlowViewSet)


urlpatterns = [
    path(
        "releases/<releasekey:key>/api-compatibility/",
        ReleaseCompatibilityView.as_view(),
        name="release-api-compatibility",
    ),
    path(
        "releases/<releasekey:key>/carry-forward/",
        ReleaseCarryForwardView.as_view(),
        name="release-carry-forward",
    ),
    path(
        "releases/<releasekey:key>/integration/",
        ReleaseIntegrationView.as_view(),
        name="release-integration",
    ),
]
