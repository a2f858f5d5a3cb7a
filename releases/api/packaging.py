"""``/api/v1/artifacts/``, ``/config-sets/``, ``/migration-plans/``, ``/compensating-scripts/``,
``/releases/{key}/rollback-package/`` and ``/services/{slug}/packaging-advice/``.

Every rule is in ``releases.packaging``: a missing or malformed checksum, a version that does
not parse or an embedded secret answer 400 naming the field (and the line) and write nothing;
configuration values never echo a secret.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from releasemgr.api.permissions import HasPermission
from releasemgr.api.viewsets import BaseModelViewSet
from releases import packaging
from releases.filtersets_packaging import (
    ArtifactFilterSet,
    CompensatingScriptFilterSet,
    ConfigSetFilterSet,
    MigrationPlanFilterSet,
)
from releases.models import (
    Artifact,
    CompensatingScript,
    ConfigSet,
    MigrationPlan,
    Release,
    ScopeItem,
    Service,
)
from scheduling.api.planning import ReasonSerializer
from scheduling.models import Environment

BUILD_PERMISSION = "releases.add_rollbackpackage"


def _as_drf(exc: DjangoValidationError) -> serializers.ValidationError:
    if not hasattr(exc, "error_dict"):
        return serializers.ValidationError({"non_field_errors": exc.messages})
    return serializers.ValidationError(
        {
            ("non_field_errors" if k == NON_FIELD_ERRORS else k): v
            for k, v in exc.message_dict.items()
        }
    )


class ModuleSerializer(serializers.ModelSerializer):
    """Writes go through ``releases.packaging`` (the model's rules plus the scan)."""

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(self.context["request"].user, *args, **kwargs)
        except DjangoValidationError as exc:
            raise _as_drf(exc) from exc

    def get_validators(self):
        # Uniqueness is checked by the model's full_clean, with its own message.
        return []


def _reasons(decision) -> list[dict]:
    return [
        {"code": r.code, "passed": r.passed, "message": r.message, "data": r.data}
        for r in decision.reasons
    ]


class ArtifactSerializer(ModuleSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    version = serializers.CharField(max_length=50)
    sha256 = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="64 hexadecimal characters."
    )
    content = serializers.CharField(required=False, allow_blank=True, write_only=False)
    scan = serializers.SerializerMethodField(
        help_text="Environment-specific values found in the content (secrets are refused)."
    )

    class Meta:
        model = Artifact
        fields = [
            "id",
            "release",
            "service",
            "kind",
            "name",
            "version",
            "sha256",
            "uri",
            "content",
            "scan",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    @extend_schema_field(ReasonSerializer(many=True))
    def get_scan(self, obj):
        return _reasons(packaging.scan_artifact(obj))

    def create(self, validated_data):
        return self._call(packaging.add_artifact, **validated_data)

    def update(self, instance, validated_data):
        return self._call(packaging.update_artifact, instance, **validated_data)


class ArtifactViewSet(BaseModelViewSet):
    """Artifacts per release and service, with version and SHA-256; secrets are refused."""

    queryset = Artifact.objects.select_related("release", "service")
    serializer_class = ArtifactSerializer
    filterset_class = ArtifactFilterSet
    ordering_fields = ["created", "name", "kind"]


class ConfigSetSerializer(ModuleSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", queryset=Service.objects.all())
    environment = serializers.SlugRelatedField(
        slug_field="slug", queryset=Environment.objects.all()
    )
    version = serializers.CharField(max_length=50)
    values = serializers.JSONField(
        required=False, help_text="{key: value}; secrets as references such as vault:path."
    )

    class Meta:
        model = ConfigSet
        fields = [
            "id",
            "service",
            "environment",
            "version",
            "values",
            "description",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["values"] = packaging.mask_values(instance.values)
        return data

    def create(self, validated_data):
        return self._call(packaging.save_config_set, **validated_data)

    def update(self, instance, validated_data):
        return self._call(packaging.save_config_set, instance, **validated_data)


class ConfigSetViewSet(BaseModelViewSet):
    """Per-environment settings of a service, kept outside the artifacts."""

    queryset = ConfigSet.objects.select_related("service", "environment")
    serializer_class = ConfigSetSerializer
    filterset_class = ConfigSetFilterSet
    ordering_fields = ["created", "version"]


class MigrationPlanSerializer(ModuleSerializer):
    scope_item = serializers.PrimaryKeyRelatedField(queryset=ScopeItem.objects.all())
    advice = serializers.SerializerMethodField()

    class Meta:
        model = MigrationPlan
        fields = [
            "id",
            "scope_item",
            "backward_compatible",
            "phase",
            "delivery",
            "reason",
            "advice",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]

    @extend_schema_field(
        inline_serializer(
            "MigrationAdvice",
            {"recommendation": serializers.CharField(), "reasons": ReasonSerializer(many=True)},
        )
    )
    def get_advice(self, obj):
        advice = packaging.migration_advice(obj.scope_item, obj)
        return {"recommendation": advice.recommendation, "reasons": _reasons(advice)}

    def create(self, validated_data):
        return self._call(packaging.save_migration_plan, **validated_data)

    def update(self, instance, validated_data):
        return self._call(packaging.save_migration_plan, instance, **validated_data)


class MigrationPlanViewSet(BaseModelViewSet):
    """How each schema-migration scope item is delivered, with the advice."""

    queryset = MigrationPlan.objects.select_related("scope_item")
    serializer_class = MigrationPlanSerializer
    filterset_class = MigrationPlanFilterSet
    ordering_fields = ["created"]


class CompensatingScriptSerializer(ModuleSerializer):
    artifact = serializers.PrimaryKeyRelatedField(queryset=Artifact.objects.all())
    sha256 = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Computed from the text."
    )

    class Meta:
        model = CompensatingScript
        fields = ["id", "artifact", "script", "uri", "sha256", "tested", "created", "updated"]
        read_only_fields = ["created", "updated"]

    def create(self, validated_data):
        return self._call(packaging.add_compensating_script, **validated_data)

    def update(self, instance, validated_data):
        return self._call(packaging.save_compensating_script, instance, **validated_data)


class CompensatingScriptViewSet(BaseModelViewSet):
    """Scripts that undo a DB migration artifact; every migration needs one for production."""

    queryset = CompensatingScript.objects.select_related("artifact")
    serializer_class = CompensatingScriptSerializer
    filterset_class = CompensatingScriptFilterSet
    ordering_fields = ["created"]


ROLLBACK_ANSWER = inline_serializer(
    "RollbackPackageAnswer",
    {
        "release": serializers.CharField(),
        "contents": serializers.DictField(),
        "production_check": ReasonSerializer(),
        "snapshot": inline_serializer(
            "RollbackPackageSnapshot",
            {
                "contents": serializers.DictField(),
                "built_at": serializers.DateTimeField(),
                "built_by": serializers.CharField(),
            },
            allow_null=True,
        ),
    },
)


class RollbackPackageView(APIView):
    """GET: the rollback package as it would be built now, the production gate verdict and the
    stored snapshot. POST: store the snapshot."""

    def get_permissions(self):
        perm = BUILD_PERMISSION if self.request.method == "POST" else "releases.view_release"
        return [HasPermission.of(perm)()]

    def _answer(self, release, status=200):
        production = Environment(name="Production", is_production=True)
        snapshot = getattr(release, "rollback_package", None)
        return Response(
            {
                "release": release.key,
                "contents": packaging.rollback_package(release),
                "production_check": packaging.check_rollback_package(release, production).as_dict(),
                "snapshot": {
                    "contents": snapshot.contents,
                    "built_at": snapshot.built_at,
                    "built_by": snapshot.built_by.username,
                }
                if snapshot
                else None,
            },
            status=status,
        )

    def _release(self, key):
        return get_object_or_404(
            Release.objects.select_related("rollback_package__built_by"), key=key
        )

    @extend_schema(responses={200: ROLLBACK_ANSWER})
    def get(self, request, key):
        return self._answer(self._release(key))

    @extend_schema(request=None, responses={201: ROLLBACK_ANSWER})
    def post(self, request, key):
        release = self._release(key)
        packaging.build_rollback_package(release, request.user)
        return self._answer(self._release(key), status=201)


class PackagingAdviceView(APIView):
    """Monolithic or modular packaging for a service, with the reasons and the numbers."""

    def get_permissions(self):
        return [HasPermission.of("releases.view_service")()]

    @extend_schema(
        responses={
            200: inline_serializer(
                "PackagingAdvice",
                {
                    "service": serializers.CharField(),
                    "recommendation": serializers.CharField(),
                    "reasons": ReasonSerializer(many=True),
                    "data": serializers.DictField(),
                },
            )
        }
    )
    def get(self, request, slug):
        service = get_object_or_404(Service, slug=slug)
        advice = packaging.packaging_advice(service)
        return Response(
            {
                "service": service.slug,
                "recommendation": advice.recommendation,
                "reasons": _reasons(advice),
                "data": advice.data,
            }
        )


def register(router):
    router.register("artifacts", ArtifactViewSet)
    router.register("config-sets", ConfigSetViewSet)
    router.register("migration-plans", MigrationPlanViewSet)
    router.register("compensating-scripts", CompensatingScriptViewSet)


urlpatterns = [
    path(
        "releases/<releasekey:key>/rollback-package/",
        RollbackPackageView.as_view(),
        name="release-rollback-package",
    ),
    path(
        "services/<slug:slug>/packaging-advice/",
        PackagingAdviceView.as_view(),
        name="service-packaging-advice",
    ),
]
