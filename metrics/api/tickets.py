"""``/api/v1/support-tickets/``: import tickets (one or a list), list/read them with their triage
evidence, and ``POST /api/v1/support-tickets/{id}/override/`` a classification with a reason.

The rules are in ``metrics.triage``: a batch with a bad row or a duplicate ``external_id``
(already imported, or twice in the batch) answers 400 naming the row and writes nothing.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from metrics import triage
from metrics.filtersets_tickets import SupportTicketFilterSet
from metrics.models import SupportTicket, TicketClassification
from metrics.models.tickets import TicketSentiment
from releases.models import Release
from scheduling.api.exceptions import RefusalSerializer


class TriageReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    passed = serializers.BooleanField()
    message = serializers.CharField()
    data = serializers.DictField()


class SupportTicketSerializer(serializers.ModelSerializer):
    service = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    classification = serializers.ChoiceField(choices=TicketClassification.choices, read_only=True)
    sentiment = serializers.ChoiceField(
        choices=TicketSentiment.choices,
        read_only=True,
        allow_blank=True,
        help_text="Empty when the help desk gave none.",
    )
    attributed_release = serializers.SlugRelatedField(
        slug_field="key", read_only=True, allow_null=True
    )
    attributed_deployment = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    evidence = TriageReasonSerializer(many=True, read_only=True)
    overridden_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = SupportTicket
        fields = [
            "id",
            "external_id",
            "service",
            "opened_at",
            "subject",
            "text",
            "rating",
            "sentiment",
            "source",
            "classification",
            "attributed_release",
            "attributed_deployment",
            "evidence",
            "classified_at",
            "overridden_by",
            "override_reason",
            "created",
            "updated",
        ]
        read_only_fields = fields


class SupportTicketImportSerializer(serializers.Serializer):
    """One ticket to import (the body may also be a list of these)."""

    external_id = serializers.CharField(max_length=100)
    service = serializers.CharField(help_text="Service slug.")
    opened_at = serializers.DateTimeField()
    subject = serializers.CharField(max_length=300)
    text = serializers.CharField(required=False, allow_blank=True)
    rating = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    sentiment = serializers.ChoiceField(
        choices=TicketSentiment.choices, required=False, allow_blank=True
    )
    source = serializers.CharField(required=False, allow_blank=True, max_length=100)


class OverrideSerializer(serializers.Serializer):
    classification = serializers.ChoiceField(choices=TicketClassification.choices)
    reason = serializers.CharField(max_length=2000, allow_blank=True)
    release = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Release.objects.all(),
        required=False,
        allow_null=True,
        help_text="For release-related: the release that caused it (default: the one triage "
        "found).",
        error_messages={"does_not_exist": "No release '{value}'."},
    )


def _field_errors(exc: triage.InvalidInput) -> serializers.ValidationError:
    """The decision's reasons as field errors (one ticket)."""
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        field = reason.data.get("field") or "non_field_errors"
        message = reason.message.split(": ", 1)[1] if reason.data.get("row") else reason.message
        errors.setdefault(field, []).append(message)
    return serializers.ValidationError(errors)


def _row_errors(rows: list[dict]) -> Response:
    """A refused list: 400 with each problem's row (1-based), field and message."""
    return Response(
        {"detail": "Nothing was imported: fix these rows.", "rows": rows},
        status=status.HTTP_400_BAD_REQUEST,
    )


class SupportTicketViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Customer support tickets, triaged against the deployment timeline of their service."""

    queryset = SupportTicket.objects.select_related(
        "service", "attributed_release", "overridden_by"
    )
    serializer_class = SupportTicketSerializer
    filterset_class = SupportTicketFilterSet
    ordering_fields = ["opened_at", "created"]

    def required_permission(self):
        if self.action == "override":
            return triage.OVERRIDE_PERMISSION
        return None

    @extend_schema(
        request=SupportTicketImportSerializer(many=True),
        responses={
            201: SupportTicketSerializer(many=True),
            400: OpenApiResponse(
                description="A bad row or a duplicate external_id; nothing is written."
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        """Import one ticket (an object) or several (a list); each is triaged at once.

        A batch with any bad row, or an `external_id` already imported or repeated, is refused
        whole (400, naming the row) and writes nothing."""
        many = isinstance(request.data, list)
        rows = request.data if many else [request.data]
        if many:
            # Shape errors (types, lengths) per row, before the rules.
            shape = []
            for number, row in enumerate(rows, start=1):
                body = SupportTicketImportSerializer(data=row)
                if not body.is_valid():
                    for field, messages in body.errors.items():
                        for message in messages:
                            shape.append(
                                {
                                    "row": number,
                                    "field": field,
                                    "message": f"Row {number}: {message}",
                                }
                            )
            if shape:
                return _row_errors(shape)
            rows = [dict(SupportTicketImportSerializer(data=r).initial_data) for r in rows]
        else:
            body = SupportTicketImportSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            rows = [dict(body.validated_data)]
        source = "api"
        try:
            created = triage.import_tickets(
                rows, request.user, source=(rows[0].get("source") or source) if rows else source
            )
        except triage.InvalidInput as exc:
            if not many:
                raise _field_errors(exc) from exc
            return _row_errors(
                [
                    {"row": r.data.get("row"), "field": r.data.get("field"), "message": r.message}
                    for r in exc.reasons
                ]
            )
        data = SupportTicketSerializer(created, many=True, context=self.get_serializer_context())
        return Response(data.data if many else data.data[0], status=status.HTTP_201_CREATED)

    @extend_schema(
        request=OverrideSerializer,
        responses={
            200: SupportTicketSerializer,
            403: OpenApiResponse(RefusalSerializer, description="Role may not override."),
        },
    )
    @action(detail=True, methods=["post"])
    def override(self, request, pk=None):
        """Set the classification by hand, with a reason (kept in history)."""
        ticket = self.get_object()
        body = OverrideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            updated = triage.override(
                ticket,
                request.user,
                body.validated_data["classification"],
                body.validated_data["reason"],
                release=body.validated_data.get("release"),
            )
        except triage.InvalidInput as exc:
            raise _field_errors(exc) from exc
        return Response(self.get_serializer(updated).data)


def register(router):
    router.register("support-tickets", SupportTicketViewSet)


urlpatterns: list = []
