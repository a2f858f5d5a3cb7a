"""``/api/v1/register/``: the risk and known-error register (CRUD, status changes, export).

Writes go through ``governance.register``: bad input answers 400 with field errors, a role
that may not accept risk answers 403 with the reasons, a closed entry 409. The status changes
only through ``POST .../{id}/status/`` (with a note), so it is read-only in the body.
"""

import json

from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from governance import register as rules
from governance.choices import RegisterKind, RegisterStatus
from governance.filtersets_register import RegisterEntryFilterSet
from governance.models import RegisterEntry
from releasemgr.api.viewsets import BaseModelViewSet
from releases.models import Release, Service
from scheduling.api.exceptions import RefusalSerializer


class CSVRenderer(BaseRenderer):
    """Lets ``?format=csv`` through DRF's content negotiation (the view writes the CSV)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, (str, bytes)):
            return data
        # Errors (400 on a bad filter) are still answered in JSON.
        return JSONRenderer().render(data)


class RegisterEntrySerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=RegisterKind.choices)
    status = serializers.ChoiceField(choices=RegisterStatus.choices, read_only=True)
    release = serializers.SlugRelatedField(
        slug_field="key", queryset=Release.objects.all(), required=False, allow_null=True
    )
    service = serializers.SlugRelatedField(
        slug_field="slug", queryset=Service.objects.all(), required=False, allow_null=True
    )
    owner = serializers.SlugRelatedField(
        slug_field="username",
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="Defaults to the caller.",
    )

    class Meta:
        model = RegisterEntry
        fields = [
            "id",
            "kind",
            "title",
            "description",
            "impact",
            "workaround",
            "status",
            "release",
            "service",
            "owner",
            "reference",
            "created",
            "updated",
        ]
        read_only_fields = ["status", "created", "updated"]

    def _field_errors(self, exc):
        errors: dict[str, list[str]] = {}
        for reason in exc.reasons or []:
            field = (reason.data or {}).get("field")
            errors.setdefault(field if field in self.fields else "non_field_errors", []).append(
                reason.message
            )
        return errors or {"non_field_errors": [exc.message]}

    def create(self, validated_data):
        try:
            return rules.create(self.context["request"].user, **validated_data)
        except rules.InvalidEntry as exc:
            raise serializers.ValidationError(self._field_errors(exc)) from exc

    def update(self, instance, validated_data):
        try:
            return rules.update(instance, self.context["request"].user, **validated_data)
        except rules.InvalidEntry as exc:
            raise serializers.ValidationError(self._field_errors(exc)) from exc


class StatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RegisterStatus.choices)
    note = serializers.CharField(max_length=500, help_text="Why the status changes.")


class RegisterEntryViewSet(BaseModelViewSet):
    """Risks and known errors, open first. ``?open=true`` keeps only open items (not closed)."""

    queryset = rules.with_related(RegisterEntry.objects.all())
    serializer_class = RegisterEntrySerializer
    filterset_class = RegisterEntryFilterSet
    ordering_fields = ["created", "updated", "status", "kind"]

    @extend_schema(
        request=StatusChangeSerializer,
        responses={
            200: RegisterEntrySerializer,
            403: OpenApiResponse(RefusalSerializer, description="Your role may not do this."),
            409: OpenApiResponse(RefusalSerializer, description="Not possible from this status."),
        },
    )
    @action(detail=True, methods=["post"], url_path="status")
    def change_status(self, request, pk=None):
        """Mitigate, accept (compliance officer), reopen or close, with a note."""
        entry = self.get_object()
        body = StatusChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        changed = rules.change_status(
            entry, request.user, body.validated_data["status"], body.validated_data["note"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=changed.pk)).data)

    def perform_content_negotiation(self, request, force=False):
        # An unknown ?format= is bad input (400 naming the choices), not DRF's bare 404.
        try:
            return super().perform_content_negotiation(request, force)
        except Http404 as exc:
            raise serializers.ValidationError({"format": "Choose csv or json."}) from exc

    def required_permission(self):
        # change_status checks the role itself and answers 403 with the reasons.
        if self.action == "change_status":
            return rules.CHANGE_PERMISSION
        if self.action == "export":
            return "governance.view_registerentry"
        return None

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=["csv", "json"],
                description="csv (default) or json. The list's filters apply; open items only "
                "unless ?open= says otherwise.",
            )
        ],
        responses={
            # JSON first: the schema checker validates a JSON body against the first entry.
            (200, "application/json"): {
                "type": "array",
                "items": {"type": "object", "additionalProperties": {}},
            },
            (200, "text/csv"): OpenApiTypes.STR,
        },
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=None,
        # JSON first: refusals (401/403) and filter errors are answered in JSON.
        renderer_classes=[JSONRenderer, CSVRenderer],
        filter_backends=[],
    )
    def export(self, request):
        """Open items for service management, as CSV (or JSON)."""
        data = request.query_params.copy()
        data.pop("format", None)
        if "open" not in data:
            data["open"] = "true"
        filterset = RegisterEntryFilterSet(data, queryset=self.get_queryset(), request=request)
        if not filterset.is_valid():
            return HttpResponse(
                json.dumps(filterset.errors),
                status=status.HTTP_400_BAD_REQUEST,
                content_type="application/json",
            )
        if request.query_params.get("format") == "json":
            return Response(list(rules.export_rows(filterset.qs)))
        response = HttpResponse(rules.export_csv(filterset.qs), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="register.csv"'
        return response


def register(router):
    router.register("register", RegisterEntryViewSet)


urlpatterns = []
