"""``/api/v1/post-mortems/`` (with nested ``timeline/``, ``factors/``, ``actions/`` and
``status/``) and ``/api/v1/post-mortem-actions/`` (``?overdue=true``; ``POST {id}/done/``).
Rules live in ``metrics.postmortems``."""

from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from metrics import postmortems
from metrics.filtersets_postmortems import ActionItemFilterSet, PostMortemFilterSet
from metrics.models.incidents import Incident
from metrics.models.postmortems import (
    ActionItem,
    ActionStatus,
    ContributingFactor,
    FactorCategory,
    PostMortem,
    PostMortemStatus,
    TimelineEntry,
)
from releases.models import Release

User = get_user_model()


def field_errors(exc: postmortems.InvalidInput, fields=()) -> serializers.ValidationError:
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        name = (reason.data or {}).get("field")
        errors.setdefault(name if name in fields else "non_field_errors", []).append(reason.message)
    return serializers.ValidationError(errors or {"non_field_errors": [exc.message]})


def _user_field(**kwargs):
    return serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        error_messages={"does_not_exist": "No active user '{value}'."},
        **kwargs,
    )


class TimelineEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = TimelineEntry
        fields = ["id", "at", "description", "created"]
        read_only_fields = ["id", "created"]


class ContributingFactorSerializer(serializers.ModelSerializer):
    category = serializers.ChoiceField(choices=FactorCategory.choices)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, default=list
    )

    class Meta:
        model = ContributingFactor
        fields = ["id", "category", "description", "tags", "created"]
        read_only_fields = ["id", "created"]


class PostMortemActionSerializer(serializers.ModelSerializer):
    owner = _user_field(
        required=True,
        allow_null=False,
    )
    postmortem = serializers.PrimaryKeyRelatedField(read_only=True)
    done_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "postmortem",
            "description",
            "owner",
            "due_date",
            "status",
            "done_at",
            "done_by",
            "overdue",
            "created",
        ]
        read_only_fields = ["id", "postmortem", "status", "done_at", "done_by", "created"]
        extra_kwargs = {
            "owner": {"error_messages": {"required": "Every action needs an owner."}},
        }

    def get_overdue(self, obj) -> bool:
        from django.utils import timezone

        return obj.status == ActionStatus.OPEN and obj.due_date < timezone.localdate()


class PostMortemSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Release.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "No release '{value}'."},
    )
    incident = serializers.PrimaryKeyRelatedField(
        queryset=Incident.objects.all(),
        required=False,
        allow_null=True,
        error_messages={"does_not_exist": "No incident {pk_value}."},
    )
    facilitator = _user_field(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=PostMortemStatus.choices, read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    factor_count = serializers.IntegerField(read_only=True)
    open_actions = serializers.IntegerField(read_only=True)

    class Meta:
        model = PostMortem
        fields = [
            "id",
            "title",
            "summary",
            "status",
            "release",
            "incident",
            "facilitator",
            "created_by",
            "factor_count",
            "open_actions",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "status", "created_by", "created", "updated"]


class PostMortemDetailSerializer(PostMortemSerializer):
    timeline = TimelineEntrySerializer(many=True, read_only=True)
    factors = ContributingFactorSerializer(many=True, read_only=True)
    actions = PostMortemActionSerializer(many=True, read_only=True)

    class Meta(PostMortemSerializer.Meta):
        fields = [*PostMortemSerializer.Meta.fields, "timeline", "factors", "actions"]


class PostMortemStatusChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PostMortemStatus.choices)


def _postmortems():
    return (
        PostMortem.objects.select_related("release", "incident", "facilitator", "created_by")
        .annotate(
            factor_count=Count("factors", distinct=True),
            open_actions=Count(
                "actions", filter=Q(actions__status=ActionStatus.OPEN), distinct=True
            ),
        )
        .order_by("-created", "-pk")
    )


class PostMortemViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Blameless post-mortems of failed releases and critical/high incidents."""

    queryset = _postmortems()
    serializer_class = PostMortemSerializer
    filterset_class = PostMortemFilterSet
    ordering_fields = ["created", "updated", "title"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "retrieve":
            qs = qs.prefetch_related("timeline", "factors", "actions__owner", "actions__done_by")
        return qs

    def get_serializer_class(self):
        return PostMortemDetailSerializer if self.action == "retrieve" else PostMortemSerializer

    def required_permission(self):
        if self.action in ("timeline", "factors", "actions", "set_status"):
            if self.request.method == "GET":
                return "metrics.view_postmortem"
            return postmortems.WRITE_PERMISSION
        return None

    def _detail(self, pm):
        pm = (
            self.get_queryset()
            .prefetch_related("timeline", "factors", "actions__owner", "actions__done_by")
            .get(pk=pm.pk)
        )
        return PostMortemDetailSerializer(pm).data

    @extend_schema(responses={201: PostMortemDetailSerializer})
    def create(self, request, *args, **kwargs):
        """`{title, summary?, release?: key, incident?: id, facilitator?: username}`."""
        body = PostMortemSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            pm = postmortems.create_postmortem(
                request.user,
                data["title"],
                data.get("summary", ""),
                release=data.get("release"),
                incident=data.get("incident"),
                facilitator=data.get("facilitator"),
            )
        except postmortems.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(self._detail(pm), status=status.HTTP_201_CREATED)

    @extend_schema(request=PostMortemSerializer, responses={200: PostMortemDetailSerializer})
    def partial_update(self, request, *args, **kwargs):
        """Edit `{title?, summary?, facilitator?}` (not once published)."""
        pm = self.get_object()
        body = PostMortemSerializer(pm, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            pm = postmortems.update_postmortem(
                request.user,
                pm,
                data.get("title", pm.title),
                data.get("summary", pm.summary),
                data.get("facilitator", pm.facilitator),
            )
        except postmortems.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(self._detail(pm))

    def update(self, request, *args, **kwargs):
        if not kwargs.get("partial"):
            return self.partial_update(request, *args, **kwargs)
        return super().update(request, *args, **kwargs)  # pragma: no cover

    def _nested(self, request, pm, serializer_class, related, add):
        if request.method == "GET":
            return Response(serializer_class(getattr(pm, related).all(), many=True).data)
        body = serializer_class(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            obj = add(body.validated_data)
        except postmortems.InvalidInput as exc:
            raise field_errors(exc, body.fields) from exc
        return Response(serializer_class(obj).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["get"], responses={200: TimelineEntrySerializer(many=True)})
    @extend_schema(
        methods=["post"], request=TimelineEntrySerializer, responses={201: TimelineEntrySerializer}
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def timeline(self, request, pk=None):
        """The timeline (GET) or a new entry `{at, description}` (POST)."""
        pm = self.get_object()
        return self._nested(
            request,
            pm,
            TimelineEntrySerializer,
            "timeline",
            lambda d: postmortems.add_timeline_entry(request.user, pm, d["at"], d["description"]),
        )

    @extend_schema(methods=["get"], responses={200: ContributingFactorSerializer(many=True)})
    @extend_schema(
        methods=["post"],
        request=ContributingFactorSerializer,
        responses={
            201: ContributingFactorSerializer,
            400: OpenApiResponse(description="Names or blames a person"),
        },
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def factors(self, request, pm=None, pk=None):
        """Contributing factors (GET) or a new one `{category, description, tags}` (POST):
        refused (400) when it names or blames a person."""
        pm = self.get_object()
        return self._nested(
            request,
            pm,
            ContributingFactorSerializer,
            "factors",
            lambda d: postmortems.add_factor(
                request.user, pm, d["category"], d["description"], d.get("tags", [])
            ),
        )

    @extend_schema(methods=["get"], responses={200: PostMortemActionSerializer(many=True)})
    @extend_schema(
        methods=["post"],
        request=PostMortemActionSerializer,
        responses={201: PostMortemActionSerializer},
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def actions(self, request, pk=None):
        """Action items (GET) or a new one `{description, owner, due_date}` (POST): an owner
        and a due date not in the past are required."""
        pm = self.get_object()
        return self._nested(
            request,
            pm,
            PostMortemActionSerializer,
            "actions",
            lambda d: postmortems.add_action(
                request.user, pm, d["description"], d.get("owner"), d.get("due_date")
            ),
        )

    @extend_schema(
        request=PostMortemStatusChangeSerializer,
        responses={200: PostMortemDetailSerializer, 409: OpenApiResponse(description="Illegal")},
    )
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        """Move to `draft`, `in_review` or `published` (published is final)."""
        pm = self.get_object()
        body = PostMortemStatusChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pm = postmortems.set_status(request.user, pm, body.validated_data["status"])
        return Response(self._detail(pm))


class ActionItemViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Post-mortem actions across post-mortems (`?overdue=true`, `?owner=`, `?status=`)."""

    queryset = ActionItem.objects.select_related("owner", "done_by", "postmortem").order_by(
        "due_date", "pk"
    )
    serializer_class = PostMortemActionSerializer
    filterset_class = ActionItemFilterSet
    ordering_fields = ["due_date", "created"]

    def required_permission(self):
        if self.action == "done":
            return "metrics.change_actionitem"
        return None

    @extend_schema(
        request=None, responses={200: PostMortemActionSerializer, 409: OpenApiResponse()}
    )
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        """Mark the action done (409 when it is done already)."""
        item = postmortems.complete_action(request.user, self.get_object())
        return Response(PostMortemActionSerializer(item).data)


def register(router):
    router.register("post-mortems", PostMortemViewSet)
    router.register("post-mortem-actions", ActionItemViewSet)


urlpatterns = []
