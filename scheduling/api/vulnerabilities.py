"""Vulnerabilities, patch SLAs and patch releases in the API; also registers notifications.

- ``/api/v1/vulnerabilities/`` (filters as on the page: ``severity``, ``status``,
  ``service``, ``sla=overdue|at_risk|on_track|done``, ``q``, ``due_before``/``due_after``)
  and ``POST /api/v1/vulnerabilities/{id}/patch-release/``;
- ``/api/v1/patch-sla-policies/{severity}/`` (read; release managers change them);
- ``/api/v1/notifications/`` (your own) and ``POST /api/v1/notifications/{id}/read/``.
"""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from releasemgr.api.serializers import ValidatedModelSerializer
from releasemgr.api.viewsets import BaseModelViewSet
from releasemgr.views_notifications import NotificationViewSet
from releases.api.serializers import ReleaseSerializer
from releases.models import Service
from releases.validators import validate_version
from scheduling import patching
from scheduling.filtersets_vulnerabilities import VulnerabilityFilterSet
from scheduling.models import PatchSlaPolicy, Vulnerability


class VulnerabilitySerializer(ValidatedModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:vulnerability-detail")
    services = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Service.objects.all(),
        many=True,
        allow_empty=False,
        help_text="Slugs of the affected services (at least one).",
    )
    patch_release = serializers.SlugRelatedField(slug_field="key", read_only=True, allow_null=True)
    sla_state = serializers.SerializerMethodField(
        help_text="overdue, at_risk, on_track, or done (patched or accepted)."
    )

    class Meta:
        model = Vulnerability
        fields = [
            "id",
            "url",
            "cve_id",
            "title",
            "cvss",
            "severity",
            "services",
            "discovered_at",
            "due_at",
            "status",
            "sla_state",
            "patch_release",
            "created",
            "updated",
        ]
        read_only_fields = ["severity", "due_at"]
        skip_model_validation = ("services",)

    def get_sla_state(self, obj) -> str:
        # One policy query for a whole list: the context is shared by the list's items.
        if "_patch_policies" not in self.context:
            self.context["_patch_policies"] = patching.policies()
        known = self.context["_patch_policies"]
        return patching.status_of(obj, known=known)

    def validate_cve_id(self, value):
        return value.strip().upper()

    def validate_cvss(self, value):
        if not 0 <= value <= 10:
            raise serializers.ValidationError("A CVSS score runs from 0.0 to 10.0.")
        return value

    def _reason(self, instance, validated_data) -> str:
        if instance is None:
            return "Created"
        if any(
            name in validated_data and validated_data[name] != getattr(instance, name)
            for name in ("cvss", "discovered_at")
        ):
            return "Re-scored: severity and due date recomputed"
        return "Edited"

    @transaction.atomic
    def create(self, validated_data):
        services = validated_data.pop("services")
        vulnerability = Vulnerability(**validated_data)
        vulnerability.save_with_reason(self._reason(None, validated_data), self._user())
        vulnerability.services.set(services)
        return vulnerability

    @transaction.atomic
    def update(self, instance, validated_data):
        services = validated_data.pop("services", None)
        reason = self._reason(instance, validated_data)
        for key, value in validated_data.items():
            setattr(instance, key, value)
        instance.save_with_reason(reason, self._user())
        if services is not None:
            instance.services.set(services)
        return instance

    def _user(self):
        request = self.context.get("request")
        return request.user if request else None


class PatchReleaseRequestSerializer(serializers.Serializer):
    versions = serializers.DictField(
        child=serializers.CharField(max_length=50, validators=[validate_version]),
        required=False,
        help_text="Service slug → patch version; defaults to the next patch version of each "
        "service's latest released version (required for a service never released).",
    )
    version = serializers.CharField(
        max_length=50, required=False, validators=[validate_version], help_text="Release version."
    )
    planned_start = serializers.DateTimeField(required=False)
    planned_end = serializers.DateTimeField(required=False)


class VulnerabilityViewSet(BaseModelViewSet):
    queryset = Vulnerability.objects.select_related("patch_release").prefetch_related("services")
    serializer_class = VulnerabilitySerializer
    filterset_class = VulnerabilityFilterSet
    ordering_fields = ["due_at", "cvss", "discovered_at", "cve_id"]
    ordering = ["due_at", "pk"]

    def required_permission(self):
        # Creating a patch release creates a release; the decision module checks the rest.
        return "releases.add_release" if self.action == "patch_release" else None

    @extend_schema(request=PatchReleaseRequestSerializer, responses={201: ReleaseSerializer})
    @action(detail=True, methods=["post"], url_path="patch-release")
    def patch_release(self, request, pk=None):
        """Create a draft security-patch release for this vulnerability (see the web page)."""
        vulnerability = self.get_object()
        body = PatchReleaseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        slugs = {s.slug: s.pk for s in vulnerability.services.all()}
        unknown = sorted(set(data.get("versions", {})) - set(slugs))
        if unknown:
            raise serializers.ValidationError(
                {"versions": [f"{vulnerability.cve_id} does not affect: {', '.join(unknown)}."]}
            )
        release = patching.create_patch_release(
            vulnerability,
            request.user,
            versions={slugs[slug]: v for slug, v in data.get("versions", {}).items()},
            release_version=data.get("version"),
            planned_start=data.get("planned_start"),
            planned_end=data.get("planned_end"),
        )
        release = type(release).objects.with_related().get(pk=release.pk)
        return Response(
            ReleaseSerializer(release, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


class PatchSlaPolicySerializer(ValidatedModelSerializer):
    class Meta:
        model = PatchSlaPolicy
        fields = ["severity", "hours", "at_risk_fraction", "updated"]
        read_only_fields = ["severity", "updated"]

    def update(self, instance, validated_data):
        for key, value in validated_data.items():
            setattr(instance, key, value)
        instance.save_with_reason(
            f"Patch SLA set to {instance.hours} h", self.context["request"].user
        )
        return instance


class PatchSlaPolicyViewSet(BaseModelViewSet):
    """The patch SLA of each severity; changing it applies to due dates computed from now on."""

    queryset = PatchSlaPolicy.objects.all()
    serializer_class = PatchSlaPolicySerializer
    lookup_field = "severity"
    http_method_names = ["get", "put", "patch", "head", "options"]


def register(router):
    router.register("vulnerabilities", VulnerabilityViewSet)
    router.register("patch-sla-policies", PatchSlaPolicyViewSet)
    router.register("notifications", NotificationViewSet, basename="notification")


urlpatterns = []
