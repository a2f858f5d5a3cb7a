"""``/api/v1/freeze-exceptions/``: list, retrieve, request (POST), approve, reject, withdraw.

Every rule is in ``scheduling.freeze_exceptions``: a request that makes no sense answers
400 with field errors, a duplicate 409; deciding as the wrong person answers 403 with the
reasons; deciding what is no longer pending answers 409.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from releasemgr.api.viewsets import BaseModelViewSet
from releases.models import Release
from scheduling import freeze_exceptions
from scheduling.choices import RiskLevel
from scheduling.filtersets_exceptions import FreezeExceptionFilterSet, queue_order
from scheduling.models import FreezeException, FreezeWindow


class FreezeExceptionSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", queryset=Release.objects.all())
    window = serializers.PrimaryKeyRelatedField(queryset=FreezeWindow.objects.all())
    window_name = serializers.CharField(source="window.name", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    risk_level = serializers.ChoiceField(choices=RiskLevel.choices, default=RiskLevel.MEDIUM)
    validity = serializers.SerializerMethodField(
        help_text="upcoming, in_force or expired for an approved exception; otherwise its status "
        "(pending, rejected, withdrawn), or expired for a pending one whose period is over."
    )

    class Meta:
        model = FreezeException
        fields = [
            "id",
            "release",
            "window",
            "window_name",
            "justification",
            "risk",
            "risk_level",
            "expedited",
            "valid_from",
            "valid_until",
            "status",
            "validity",
            "requested_by",
            "requester_roles",
            "decided_by",
            "decided_at",
            "decision_comment",
            "created",
            "updated",
        ]
        read_only_fields = [
            "expedited",
            "status",
            "requester_roles",
            "decided_at",
            "decision_comment",
            "created",
            "updated",
        ]

    def get_validity(self, obj) -> str:
        return freeze_exceptions.validity(obj, self.context.get("now"))

    def create(self, validated_data):
        try:
            return freeze_exceptions.request(
                validated_data["release"],
                validated_data["window"],
                self.context["request"].user,
                justification=validated_data["justification"],
                risk=validated_data["risk"],
                risk_level=validated_data["risk_level"],
                valid_from=validated_data["valid_from"],
                valid_until=validated_data["valid_until"],
            )
        except freeze_exceptions.InvalidRequest as exc:
            errors: dict[str, list[str]] = {}
            for reason in exc.reasons:
                field = reason.data.get("field")
                key = field if field in self.fields else "non_field_errors"
                errors.setdefault(key, []).append(reason.message)
            raise serializers.ValidationError(errors) from exc


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    # Only rule-based refusals carry checks; a missing role or a wrong state may not.
    checks = serializers.ListField(child=serializers.DictField(), required=False)


DECIDE_SCHEMA = {
    "request": DecisionSerializer,
    "responses": {
        200: FreezeExceptionSerializer,
        403: OpenApiResponse(RefusalSerializer, description="Not yours to decide: why."),
        409: OpenApiResponse(RefusalSerializer, description="Already decided."),
    },
}


@extend_schema_view(
    create=extend_schema(
        responses={
            201: FreezeExceptionSerializer,
            400: OpenApiResponse(
                description="Field errors: a window that does not apply to the release then, "
                "a period that ends before it starts, is too long or is over."
            ),
            409: OpenApiResponse(RefusalSerializer, description="An open duplicate exists."),
        },
    )
)
class FreezeExceptionViewSet(BaseModelViewSet):
    """Freeze exceptions, pending first (expedited first among them).

    POST asks for one (needs the permission to request); approve/reject need the
    permission to decide and a role the requester does not hold.
    """

    queryset = FreezeException.objects.select_related(
        "release", "window", "requested_by", "decided_by"
    )
    serializer_class = FreezeExceptionSerializer
    filterset_class = FreezeExceptionFilterSet
    ordering_fields = ["created", "valid_from", "valid_until", "status"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list" and "ordering" not in self.request.query_params:
            queryset = queue_order(queryset)
        return queryset

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["now"] = timezone.now()
        return context

    def required_permission(self):
        # The decision module answers who may decide or withdraw, with its reasons (403).
        if self.action in ("approve", "reject", "withdraw"):
            return "scheduling.view_freezeexception"
        return None

    def _answer(self, exception):
        fresh = self.get_queryset().get(pk=exception.pk)
        return Response(self.get_serializer(fresh).data)

    def _decide(self, request, approve: bool):
        exception = self.get_object()
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        decided = freeze_exceptions.decide(
            exception, request.user, approve=approve, comment=body.validated_data["comment"]
        )
        return self._answer(decided)

    @extend_schema(**DECIDE_SCHEMA)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve as someone in a deciding role the requester does not hold."""
        return self._decide(request, approve=True)

    @extend_schema(**DECIDE_SCHEMA)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, approve=False)

    @extend_schema(
        request=None,
        responses={
            200: FreezeExceptionSerializer,
            403: OpenApiResponse(RefusalSerializer, description="Only the requester withdraws."),
            409: OpenApiResponse(RefusalSerializer, description="No longer pending."),
        },
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """The requester takes back a pending request."""
        return self._answer(freeze_exceptions.withdraw(self.get_object(), request.user))

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        exception = serializer.save()
        return Response(
            self.get_serializer(self.get_queryset().get(pk=exception.pk)).data,
            status=status.HTTP_201_CREATED,
        )


def register(router):
    router.register("freeze-exceptions", FreezeExceptionViewSet)


urlpatterns = []
