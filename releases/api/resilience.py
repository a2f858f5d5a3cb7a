"""``/api/v1/rollback-steps/``, ``/api/v1/dr-tests/`` and ``GET /api/v1/releases/{key}/rollback/``.

The rules are in ``releases.rollback_scope`` and ``releases.dr``: bad input answers 400 with
field errors and writes nothing; a role that may not act 403; changing the rollback plan of a
release that has shipped (or never will) 409.
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from releasemgr.api.permissions import HasPermission
from releasemgr.api.viewsets import BaseModelViewSet
from releases import dr, rollback_scope
from releases.filtersets_resilience import DrTestFilterSet, RollbackStepFilterSet
from releases.models import DrResult, DrTest, Release, RollbackStep, Service
from releases.rollback_scope import InvalidInput


def field_errors(exc: InvalidInput, fields) -> serializers.ValidationError:
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        name = (reason.data or {}).get("field")
        errors.setdefault(name if name in fields else "non_field_errors", []).append(reason.message)
    return serializers.ValidationError(errors or {"non_field_errors": [exc.message]})


class RollbackStepSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    position = serializers.IntegerField(
        required=False, min_value=1, help_text="Omitted on create: after the service's last step."
    )
    description = serializers.CharField(allow_blank=True, max_length=500)
    estimated_minutes = serializers.IntegerField(help_text="At least 1.")

    class Meta:
        model = RollbackStep
        fields = [
            "id",
            "release",
            "service",
            "position",
            "description",
            "estimated_minutes",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    def validate_release(self, value):
        if self.instance is not None and value != self.instance.release:
            raise serializers.ValidationError("A rollback step stays with its release.")
        return value

    def create(self, validated_data):
        try:
            return rollback_scope.add_step(
                validated_data["release"],
                self.context["request"].user,
                service=validated_data["service"],
                description=validated_data["description"],
                estimated_minutes=validated_data["estimated_minutes"],
                position=validated_data.get("position"),
            )
        except InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc

    def update(self, instance, validated_data):
        changes = {k: v for k, v in validated_data.items() if k in rollback_scope.EDITABLE_FIELDS}
        try:
            return rollback_scope.edit_step(instance, self.context["request"].user, **changes)
        except InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc


class RollbackStepViewSet(BaseModelViewSet):
    """The per-service rollback plan of releases: steps with estimated minutes."""

    queryset = RollbackStep.objects.select_related("release", "service")
    serializer_class = RollbackStepSerializer
    filterset_class = RollbackStepFilterSet
    ordering_fields = ["created", "position"]

    def perform_destroy(self, instance):
        rollback_scope.delete_step(instance, self.request.user)


class DrTestSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    result = serializers.ChoiceField(choices=DrResult.choices)
    scenario = serializers.CharField(allow_blank=True, max_length=200)
    rto_target_minutes = serializers.IntegerField(
        required=False, allow_null=True, help_text="Omitted: the service's recovery SLA."
    )
    rto_achieved_minutes = serializers.IntegerField()
    rpo_target_minutes = serializers.IntegerField()
    rpo_achieved_minutes = serializers.IntegerField()
    evidence_link = serializers.CharField(required=False, allow_blank=True, max_length=500)
    recorded_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    validates = serializers.BooleanField(
        read_only=True, help_text="Passed and within both targets: it counts for the gate."
    )

    class Meta:
        model = DrTest
        fields = [
            "id",
            "service",
            "tested_at",
            "scenario",
            "what_was_tested",
            "result",
            "rto_target_minutes",
            "rto_achieved_minutes",
            "rpo_target_minutes",
            "rpo_achieved_minutes",
            "evidence_link",
            "recorded_by",
            "validates",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    def validate_service(self, value):
        if self.instance is not None and value != self.instance.service:
            raise serializers.ValidationError("A DR test stays with the service it tested.")
        return value

    def create(self, validated_data):
        service = validated_data.pop("service")
        try:
            return dr.record_test(service, self.context["request"].user, **validated_data)
        except InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc

    def update(self, instance, validated_data):
        validated_data.pop("service", None)
        try:
            return dr.edit_test(instance, self.context["request"].user, **validated_data)
        except InvalidInput as exc:
            raise field_errors(exc, self.fields) from exc


class DrTestViewSet(BaseModelViewSet):
    """Disaster-recovery tests: what was tested, the result, RTO/RPO achieved against target."""

    queryset = DrTest.objects.select_related("service", "recorded_by")
    serializer_class = DrTestSerializer
    filterset_class = DrTestFilterSet
    ordering_fields = ["tested_at", "created"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        test = serializer.save()
        return Response(self.get_serializer(test).data, status=status.HTTP_201_CREATED)


class StepSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    description = serializers.CharField()
    estimated_minutes = serializers.IntegerField()


class ServiceRollbackSerializer(serializers.Serializer):
    service = serializers.CharField()
    name = serializers.CharField()
    customer_facing = serializers.BooleanField()
    recovery_sla_minutes = serializers.IntegerField()
    total_minutes = serializers.IntegerField()
    has_plan = serializers.BooleanField()
    meets_sla = serializers.BooleanField()
    overrun_minutes = serializers.IntegerField()
    steps = StepSerializer(many=True)


class GroupSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField()
    customer_facing = serializers.BooleanField()
    recovery_sla_minutes = serializers.IntegerField()
    services = serializers.ListField(child=serializers.CharField())


class RollbackScopeSerializer(serializers.Serializer):
    release = serializers.CharField()
    order = serializers.ListField(child=serializers.CharField(), help_text="Rollback order.")
    groups = GroupSerializer(many=True)
    services = ServiceRollbackSerializer(many=True)
    missing = serializers.ListField(child=serializers.CharField())
    overruns = serializers.ListField(child=serializers.CharField())
    notes = serializers.ListField(child=serializers.CharField())


class ReleaseRollbackView(APIView):
    permission_classes = [HasPermission.of("releases.view_rollbackstep")]

    @extend_schema(responses={200: RollbackScopeSerializer})
    def get(self, request, key):
        """The release's rollback groups in order, and each service's steps against its SLA."""
        release = get_object_or_404(Release, key=key)
        return Response(rollback_scope.rollback_scope(release).as_dict())


def register(router):
    router.register("rollback-steps", RollbackStepViewSet)
    router.register("dr-tests", DrTestViewSet)


urlpatterns = [
    path(
        "releases/<releasekey:key>/rollback/",
        ReleaseRollbackView.as_view(),
        name="release-rollback",
    )
]
