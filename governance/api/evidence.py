"""``/api/v1/evidence-packs/``: request a pack (202), follow its progress, download the zip.

Requesting and downloading need ``governance.export_evidence`` (auditor, compliance officer,
release manager); everyone with a role may list packs and see their status and manifest.
"""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from governance import evidence
from governance.choices import EvidenceStatus
from governance.models import EvidencePack
from releasemgr.api.viewsets import BaseModelViewSet
from releasemgr.decisions import IllegalTransition, Reason
from releases.models import Release, Service


class EvidencePackSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(
        slug_field="key", queryset=Release.objects.all(), required=False, allow_null=True
    )
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    since = serializers.DateField(required=False, allow_null=True)
    until = serializers.DateField(
        required=False, allow_null=True, help_text="Exclusive (UTC date)."
    )
    status = serializers.ChoiceField(choices=EvidenceStatus.choices, read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    manifest = serializers.JSONField(read_only=True)
    chain_verification = serializers.JSONField(read_only=True)

    class Meta:
        model = EvidencePack
        fields = [
            "id",
            "release",
            "service",
            "since",
            "until",
            "status",
            "progress",
            "release_count",
            "requested_by",
            "file_name",
            "archive_sha256",
            "manifest",
            "chain_verification",
            "started_at",
            "finished_at",
            "error",
            "created",
        ]
        read_only_fields = [
            "progress",
            "release_count",
            "file_name",
            "archive_sha256",
            "started_at",
            "finished_at",
            "error",
            "created",
        ]

    def create(self, validated_data):
        try:
            return evidence.request_pack(self.context["request"].user, **validated_data)
        except evidence.InvalidRequest as exc:
            errors: dict[str, list[str]] = {}
            for reason in exc.reasons:
                name = reason.data.get("field")
                key = name if name in self.fields else "non_field_errors"
                errors.setdefault(key, []).append(reason.message)
            raise serializers.ValidationError(errors) from exc


@extend_schema_view(
    create=extend_schema(
        responses={
            202: EvidencePackSerializer,
            400: OpenApiResponse(
                description="No scope, a release and a service, a service without dates, "
                "or a range that ends before it starts."
            ),
        }
    )
)
class EvidencePackViewSet(BaseModelViewSet):
    """Evidence packs, newest first. POST queues one; poll it until ``status`` is ``ready``."""

    queryset = EvidencePack.objects.select_related("release", "service", "requested_by")
    serializer_class = EvidencePackSerializer
    ordering_fields = ["created", "status"]
    http_method_names = ["get", "post", "head", "options"]

    def required_permission(self):
        if self.action in ("create", "download"):
            return evidence.PERMISSION
        return None

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pack = serializer.save()
        return Response(
            self.get_serializer(self.get_queryset().get(pk=pack.pk)).data,
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The pack is not ready (queued, building or failed)."),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        """The zip archive (its SHA-256 is ``archive_sha256``)."""
        pack = self.get_object()
        if pack.status != EvidenceStatus.READY:
            raise IllegalTransition(
                f"Evidence pack #{pack.pk} is {pack.status}, not ready.",
                [Reason("status", False, f"The pack is {pack.status}.", {"status": pack.status})],
            )
        path = evidence.archive_path(pack)
        if not path.is_file():
            raise NotFound("The archive is no longer on disk; request a new pack.")
        return FileResponse(path.open("rb"), as_attachment=True, filename=pack.file_name)


def register(router):
    router.register("evidence-packs", EvidencePackViewSet)


urlpatterns = []
