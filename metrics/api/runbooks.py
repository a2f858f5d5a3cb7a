"""``/api/v1/runbooks/`` (with ``GET .../{id}/diff/?from=&to=``), ``/api/v1/runbook-versions/``
(new versions only: versions are never edited) and
``/api/v1/releases/{key}/runbook-checklist/`` (GET the "runbook updated" items, POST to link a
version). Rules live in ``metrics.runbooks``."""

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics import runbooks
from metrics.filtersets_runbooks import RunbookFilterSet, RunbookVersionFilterSet
from metrics.models.runbooks import Runbook, RunbookVersion
from releasemgr.api.permissions import HasPermission
from releases.models import Release, Service


def field_errors(exc: runbooks.InvalidInput, fields=()) -> serializers.ValidationError:
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        name = (reason.data or {}).get("field")
        errors.setdefault(name if name in fields else "non_field_errors", []).append(reason.message)
    return serializers.ValidationError(errors or {"non_field_errors": [exc.message]})


class RunbookVersionSerializer(serializers.ModelSerializer):
    runbook = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = RunbookVersion
        fields = ["id", "runbook", "number", "summary", "body", "author", "created"]
        read_only_fields = fields


class RunbookVersionCreateSerializer(serializers.Serializer):
    runbook = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Runbook.objects.all(),
        error_messages={"does_not_exist": "No runbook '{value}'."},
    )
    body = serializers.CharField(max_length=runbooks.MAX_BODY, help_text="Markdown.")
    summary = serializers.CharField(max_length=300, help_text="What changed.")


class RunbookSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    current_version = serializers.SerializerMethodField()

    class Meta:
        model = Runbook
        fields = ["id", "service", "title", "slug", "current_version", "created", "updated"]
        read_only_fields = fields

    def get_current_version(self, runbook) -> int | None:
        return getattr(runbook, "current", None)


class RunbookCreateSerializer(serializers.Serializer):
    service = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Service.objects.all(),
        error_messages={"does_not_exist": "No service '{value}'."},
    )
    title = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=100)
    body = serializers.CharField(max_length=runbooks.MAX_BODY, help_text="Markdown: version 1.")
    summary = serializers.CharField(max_length=300, required=False, default="First version")


class DiffSerializer(serializers.Serializer):
    runbook = serializers.CharField()
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    changed = serializers.BooleanField()
    unified = serializers.CharField(help_text="A unified diff of the Markdown text.")
    rows = serializers.ListField(child=serializers.DictField(), help_text="Side by side.")


def _annotated_runbooks():
    from django.db.models import Max

    return (
        Runbook.objects.select_related("service")
        .annotate(current=Max("versions__number"))
        .order_by("service__slug", "title")
    )


class RunbookViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Runbooks per service; their text is in versions."""

    queryset = _annotated_runbooks()
    serializer_class = RunbookSerializer
    filterset_class = RunbookFilterSet
    ordering_fields = ["title", "created", "updated"]

    def required_permission(self):
        if self.action == "create":
            return "metrics.add_runbook"
        return None

    @extend_schema(request=RunbookCreateSerializer, responses={201: RunbookSerializer})
    def create(self, request, *args, **kwargs):
        """Create a runbook with its first version: `{service, title, slug, body, summary?}`."""
        body = RunbookCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            runbook = runbooks.create_runbook(request.user, **body.validated_data)
        except runbooks.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        runbook = _annotated_runbooks().get(pk=runbook.pk)
        return Response(RunbookSerializer(runbook).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, required=True, description="Version number."),
            OpenApiParameter("to", int, required=True, description="Version number."),
        ],
        responses={200: DiffSerializer, 400: OpenApiResponse(description="Unknown version")},
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """The difference between two versions, unified and side by side."""
        runbook = self.get_object()
        try:
            old, new = runbooks.version_pair(
                runbook, request.query_params.get("from"), request.query_params.get("to")
            )
        except runbooks.InvalidInput as exc:
            raise field_errors(exc, ("from", "to")) from exc
        d = runbooks.diff_versions(old, new)
        return Response(
            {
                "runbook": runbook.slug,
                "from_version": old.number,
                "to_version": new.number,
                "changed": d.changed,
                "unified": "\n".join(d.unified),
                "rows": d.side_by_side,
            }
        )


class RunbookVersionViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Versions of runbooks: append-only, numbered 1, 2, 3 … per runbook."""

    queryset = RunbookVersion.objects.select_related("runbook", "author")
    serializer_class = RunbookVersionSerializer
    filterset_class = RunbookVersionFilterSet
    ordering_fields = ["created", "number"]

    @extend_schema(
        request=RunbookVersionCreateSerializer, responses={201: RunbookVersionSerializer}
    )
    def create(self, request, *args, **kwargs):
        """Write a new version of a runbook: `{runbook, body, summary}`."""
        body = RunbookVersionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            version = runbooks.add_version(
                request.user, data["runbook"], data["body"], data["summary"]
            )
        except runbooks.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(RunbookVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class ChecklistItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    service = serializers.CharField()
    why = serializers.ListField(child=serializers.CharField())
    runbook = serializers.CharField(allow_null=True, help_text="The linked runbook's slug.")
    title = serializers.CharField(allow_null=True, help_text="The linked runbook's title.")
    version = serializers.IntegerField(allow_null=True)


class ChecklistSerializer(serializers.Serializer):
    release = serializers.CharField()
    done = serializers.BooleanField(help_text="Every item is done (true when there are none).")
    items = ChecklistItemSerializer(many=True)


class LinkSerializer(serializers.Serializer):
    service = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Service.objects.all(),
        error_messages={"does_not_exist": "No service '{value}'."},
    )
    runbook = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Runbook.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "No runbook '{value}'."},
    )
    version = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Omit both to unlink."
    )

    def validate(self, attrs):
        runbook, number = attrs.get("runbook"), attrs.get("version")
        if (runbook is None) != (number is None):
            raise serializers.ValidationError(
                {"version": ["Give the runbook and its version number together."]}
            )
        if runbook is not None:
            found = runbook.versions.filter(number=number).first()
            if found is None:
                raise serializers.ValidationError(
                    {"version": [f"{runbook.slug} has no version {number}."]}
                )
            attrs["version"] = found
        return attrs


def checklist_body(release: Release) -> dict:
    decision = runbooks.checklist(release)
    return {
        "release": release.key,
        "done": decision.allowed,
        "items": [
            {"code": r.code, "passed": r.passed, "message": r.message, **r.data}
            for r in decision.reasons
        ],
    }


class RunbookChecklistView(APIView):
    def get_permissions(self):
        perm = (
            runbooks.LINK_PERMISSION
            if self.request.method == "POST"
            else ("metrics.view_runbookcheck")
        )
        return [HasPermission.of(perm)()]

    @extend_schema(responses={200: ChecklistSerializer})
    def get(self, request, key):
        """The release's "runbook updated" items, one per service whose behaviour it changes."""
        return Response(checklist_body(get_object_or_404(Release, key=key)))

    @extend_schema(
        request=LinkSerializer,
        responses={
            200: ChecklistSerializer,
            400: OpenApiResponse(description="Bad input"),
            409: OpenApiResponse(description="Release closed"),
        },
    )
    def post(self, request, key):
        """Link a runbook version to a service's item (`{service, runbook, version}`), or
        unlink it (`{service}`)."""
        release = get_object_or_404(Release, key=key)
        body = LinkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            runbooks.link_version(
                release,
                body.validated_data["service"],
                body.validated_data.get("version"),
                request.user,
            )
        except runbooks.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(checklist_body(release))


def register(router):
    router.register("runbooks", RunbookViewSet)
    router.register("runbook-versions", RunbookVersionViewSet)


urlpatterns = [
    path(
        "releases/<releasekey:key>/runbook-checklist/",
        RunbookChecklistView.as_view(),
        name="release-runbook-checklist",
    )
]
