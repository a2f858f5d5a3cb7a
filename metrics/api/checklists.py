"""``/api/v1/checklist-templates/`` (with versions and their items),
``/api/v1/checklist-runs/`` (start a run for a deployment; ``POST {id}/items/`` ticks an item),
``/api/v1/checklist-proposals/?template=&since=&until=`` (GET) and
``/api/v1/checklist-proposals/accept/`` (POST). Rules: ``metrics.checklists`` and
``metrics.checklist_refinement``."""

from django.db.models import Max, Prefetch
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from metrics import checklist_refinement, checklists
from metrics.filtersets_postmortems import ChecklistRunFilterSet, ChecklistTemplateFilterSet
from metrics.models.checklists import (
    ChecklistRun,
    ChecklistRunItem,
    ChecklistTemplate,
    ChecklistVersion,
    RunItemStatus,
)
from metrics.periods import InvalidFilters, parse_filters
from releasemgr.api.permissions import HasPermission
from releases.models import Deployment


def field_errors(exc, fields=()) -> serializers.ValidationError:
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        name = (reason.data or {}).get("field")
        errors.setdefault(name if name in fields else "non_field_errors", []).append(reason.message)
    return serializers.ValidationError(errors or {"non_field_errors": [exc.message]})


class ChecklistVersionItemSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=100)
    text = serializers.CharField(max_length=300)


class ChecklistVersionSerializer(serializers.ModelSerializer):
    items = ChecklistVersionItemSerializer(many=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ChecklistVersion
        fields = ["number", "summary", "items", "accepted_proposals", "created_by", "created"]
        read_only_fields = fields


class ChecklistTemplateSerializer(serializers.ModelSerializer):
    current_version = serializers.IntegerField(read_only=True)
    versions = ChecklistVersionSerializer(many=True, read_only=True)

    class Meta:
        model = ChecklistTemplate
        fields = ["id", "name", "slug", "scope", "current_version", "versions", "created"]
        read_only_fields = fields


class ChecklistTemplateCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=100)
    scope = serializers.CharField(max_length=100, required=False, default="production deployment")
    items = ChecklistVersionItemSerializer(many=True, help_text="Version 1's items.")


def _templates():
    return (
        ChecklistTemplate.objects.annotate(current_version=Max("versions__number"))
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=ChecklistVersion.objects.select_related("created_by").order_by("-number"),
            )
        )
        .order_by("name")
    )


class ChecklistTemplateViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Checklist templates with every version of their items (newest first)."""

    queryset = _templates()
    serializer_class = ChecklistTemplateSerializer
    filterset_class = ChecklistTemplateFilterSet

    @extend_schema(
        request=ChecklistTemplateCreateSerializer, responses={201: ChecklistTemplateSerializer}
    )
    def create(self, request, *args, **kwargs):
        """`{name, slug, scope?, items: [{key, text}]}` (version 1)."""
        body = ChecklistTemplateCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            template = checklists.create_template(request.user, **body.validated_data)
        except checklists.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(
            ChecklistTemplateSerializer(_templates().get(pk=template.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class ChecklistRunItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistRunItem
        fields = ["id", "key", "text", "status", "note", "updated"]
        read_only_fields = fields


class ChecklistRunSerializer(serializers.ModelSerializer):
    template = serializers.CharField(source="version.template.slug", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    deployment = serializers.PrimaryKeyRelatedField(read_only=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    items = ChecklistRunItemSerializer(many=True, read_only=True)

    class Meta:
        model = ChecklistRun
        fields = ["id", "template", "version", "deployment", "started_by", "items", "created"]
        read_only_fields = fields


class ChecklistRunCreateSerializer(serializers.Serializer):
    deployment = serializers.PrimaryKeyRelatedField(
        queryset=Deployment.objects.all(),
        error_messages={"does_not_exist": "No deployment {pk_value}."},
    )
    template = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=ChecklistTemplate.objects.all(),
        error_messages={"does_not_exist": "No checklist '{value}'."},
    )


class ChecklistTickSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=100)
    status = serializers.ChoiceField(
        choices=[c for c in RunItemStatus.choices if c[0] != RunItemStatus.PENDING]
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ChecklistRunViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Runs of a checklist version, one per deployment and checklist."""

    queryset = (
        ChecklistRun.objects.select_related("version__template", "started_by")
        .prefetch_related("items")
        .order_by("-created", "-pk")
    )
    serializer_class = ChecklistRunSerializer
    filterset_class = ChecklistRunFilterSet

    def required_permission(self):
        if self.action == "items":
            return checklists.TICK_PERMISSION
        return None

    @extend_schema(request=ChecklistRunCreateSerializer, responses={201: ChecklistRunSerializer})
    def create(self, request, *args, **kwargs):
        """Start a run of the checklist's current version: `{deployment, template}`."""
        body = ChecklistRunCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            run = checklists.start_run(request.user, data["deployment"], data["template"])
        except checklists.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(
            ChecklistRunSerializer(self.get_queryset().get(pk=run.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=ChecklistTickSerializer, responses={200: ChecklistRunSerializer})
    @action(detail=True, methods=["post"])
    def items(self, request, pk=None):
        """Tick an item: `{key, status: passed|failed|skipped, note?}` (a note is required
        for failed and skipped)."""
        run = self.get_object()
        body = ChecklistTickSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        item = run.items.filter(key=data["key"]).first()
        if item is None:
            raise serializers.ValidationError({"key": [f"This run has no item '{data['key']}'."]})
        try:
            checklists.tick(request.user, item, data["status"], data["note"])
        except checklists.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(ChecklistRunSerializer(self.get_queryset().get(pk=run.pk)).data)


class ProposalEvidenceSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.IntegerField()
    label = serializers.CharField()
    url = serializers.CharField()


class ChecklistProposalSerializer(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()
    source = serializers.CharField(help_text="tag, category or failed_item")
    subject = serializers.CharField()
    count = serializers.IntegerField()
    evidence = ProposalEvidenceSerializer(many=True)


class ChecklistProposalsSerializer(serializers.Serializer):
    template = serializers.CharField()
    current_version = serializers.IntegerField(allow_null=True)
    since = serializers.DateField()
    until = serializers.DateField()
    proposals = ChecklistProposalSerializer(many=True)
    covered = ChecklistProposalSerializer(
        many=True, help_text="Recurring, already in the checklist."
    )


class ChecklistAcceptSerializer(serializers.Serializer):
    template = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=ChecklistTemplate.objects.all(),
        error_messages={"does_not_exist": "No checklist '{value}'."},
    )
    keys = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=False)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)


def _filters(params):
    query = {k: str(params[k]) for k in ("since", "until") if params.get(k)}
    try:
        return parse_filters(query)
    except InvalidFilters as exc:
        raise serializers.ValidationError(exc.field_errors()) from exc


def proposals_body(template, filters) -> dict:
    result = checklist_refinement.refine(filters, template)
    return {
        "template": template.slug,
        "current_version": result.current_number,
        "since": filters.since,
        "until": filters.until,
        "proposals": [p.as_dict() for p in result.proposals],
        "covered": [p.as_dict() for p in result.covered],
    }


class ChecklistProposalsView(APIView):
    def get_permissions(self):
        return [HasPermission.of("metrics.view_checklisttemplate")()]

    @extend_schema(
        parameters=[
            OpenApiParameter("template", str, required=True, description="Checklist slug."),
            OpenApiParameter("since", str, description="Date (inclusive); default 90 days ago."),
            OpenApiParameter("until", str, description="Date (exclusive); default tomorrow."),
        ],
        responses={
            200: ChecklistProposalsSerializer,
            400: OpenApiResponse(description="Bad input"),
        },
    )
    def get(self, request):
        """Proposed checklist items from recurring post-mortem factors and failed items."""
        slug = request.query_params.get("template")
        if not slug:
            raise serializers.ValidationError({"template": ["Say which checklist (its slug)."]})
        template = ChecklistTemplate.objects.filter(slug=slug).first()
        if template is None:
            raise serializers.ValidationError({"template": [f"No checklist '{slug}'."]})
        body = ChecklistProposalsSerializer(
            proposals_body(template, _filters(request.query_params))
        )
        return Response(body.data)


class ChecklistAcceptView(APIView):
    def get_permissions(self):
        return [HasPermission.of(checklist_refinement.ACCEPT_PERMISSION)()]

    @extend_schema(
        request=ChecklistAcceptSerializer,
        responses={201: ChecklistVersionSerializer, 400: OpenApiResponse(description="Bad input")},
    )
    def post(self, request):
        """Accept proposals (`keys`) into a new version of the checklist."""
        body = ChecklistAcceptSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        filters = _filters(data)
        try:
            version = checklist_refinement.accept(
                request.user, data["template"], filters, data["keys"]
            )
        except checklists.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(ChecklistVersionSerializer(version).data, status=status.HTTP_201_CREATED)


def register(router):
    router.register("checklist-templates", ChecklistTemplateViewSet)
    router.register("checklist-runs", ChecklistRunViewSet)


urlpatterns = [
    path("checklist-proposals/", ChecklistProposalsView.as_view(), name="checklist-proposals"),
    path(
        "checklist-proposals/accept/",
        ChecklistAcceptView.as_view(),
        name="checklist-proposals-accept",
    ),
]
