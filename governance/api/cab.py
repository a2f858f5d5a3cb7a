"""``/api/v1/cab-meetings/``, ``/api/v1/agenda-items/``, ``/api/v1/votes/``.

Every rule is in ``governance.cab``: bad input answers 400, a vote by someone not
attending the meeting (or refused by the approval policy / segregation of duties)
403 with the reasons, a vote outside an in-progress meeting, on a decided item or
a second vote 409. The functions own their transactions, so a refusal stays on
record even though the refused request writes nothing else.
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from governance import cab
from governance.choices import VoteChoice
from governance.filtersets_cab import AgendaItemFilterSet, CabMeetingFilterSet, VoteFilterSet
from governance.models import AgendaItem, CabMeeting, Vote
from releasemgr.api.viewsets import BaseModelViewSet
from releasemgr.decisions import IllegalTransition
from releases.models import Release
from scheduling.api.exceptions import RefusalSerializer

User = get_user_model()


class VoteSerializer(serializers.ModelSerializer):
    voter = serializers.SlugRelatedField(slug_field="username", read_only=True)
    release = serializers.CharField(source="item.release.key", read_only=True)
    meeting = serializers.IntegerField(source="item.meeting_id", read_only=True)

    class Meta:
        model = Vote
        fields = ["id", "item", "meeting", "release", "voter", "choice", "conditions", "comment"]
        fields += ["created"]
        read_only_fields = fields


class AgendaItemSerializer(serializers.ModelSerializer):
    release = serializers.SlugRelatedField(slug_field="key", read_only=True)
    votes = VoteSerializer(many=True, read_only=True)

    class Meta:
        model = AgendaItem
        fields = [
            "id",
            "meeting",
            "release",
            "position",
            "outcome",
            "conditions",
            "notes",
            "decided_at",
            "votes",
            "created",
            "updated",
        ]
        read_only_fields = fields


class CabMeetingSerializer(serializers.ModelSerializer):
    chair = serializers.SlugRelatedField(slug_field="username", queryset=User.objects.all())
    attendees = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.all(), many=True, required=False
    )
    items = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = CabMeeting
        fields = [
            "id",
            "title",
            "kind",
            "scheduled_at",
            "duration_minutes",
            "location",
            "chair",
            "attendees",
            "status",
            "minutes",
            "items",
            "created",
            "updated",
        ]
        read_only_fields = ["status", "minutes", "items", "created", "updated"]

    def save(self, **kwargs):
        data = dict(self.validated_data)
        attendees = data.pop("attendees", None)
        creating = self.instance is None
        meeting = self.instance or CabMeeting()
        for name, value in data.items():
            setattr(meeting, name, value)
        if attendees is None:
            attendees = [] if creating else list(meeting.attendees.all())
        try:
            self.instance = cab.save_meeting(
                meeting, self.context["request"].user, attendees, creating=creating
            )
        except cab.InvalidInput as exc:
            raise _field_errors(exc, self.fields) from exc
        return self.instance


def _field_errors(exc: cab.InvalidInput, fields) -> serializers.ValidationError:
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons or []:
        field = (reason.data or {}).get("field")
        errors.setdefault(field if field in fields else "non_field_errors", []).append(
            reason.message
        )
    return serializers.ValidationError(errors or {"non_field_errors": [exc.message]})


class AgendaBodySerializer(serializers.Serializer):
    release = serializers.SlugRelatedField(
        slug_field="key",
        queryset=Release.objects.all(),
        required=False,
        help_text="Add this release only; without it every candidate is added.",
    )


class CloseBodySerializer(serializers.Serializer):
    minutes = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)


class VoteBodySerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=VoteChoice.choices)
    conditions = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=2000
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class DeferBodySerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class DraftMinutesSerializer(serializers.Serializer):
    minutes = serializers.CharField()


def _responses(ok, forbidden="Not the chair (or a release manager).", conflict="Wrong status."):
    return {
        200: ok,
        403: OpenApiResponse(RefusalSerializer, description=forbidden),
        409: OpenApiResponse(RefusalSerializer, description=conflict),
    }


@extend_schema_view(
    destroy=extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(RefusalSerializer, description="Started or has an agenda."),
        }
    )
)
class CabMeetingViewSet(BaseModelViewSet):
    """CAB meetings, newest first. The chair (or a release manager) runs them."""

    queryset = CabMeeting.objects.select_related("chair").prefetch_related("attendees", "items")
    serializer_class = CabMeetingSerializer
    filterset_class = CabMeetingFilterSet
    ordering_fields = ["scheduled_at", "created"]
    atomic_writes = False

    def required_permission(self):
        # The decision module answers who may run the meeting, with its reasons (403).
        if self.action in ("build_agenda", "start", "close", "cancel", "draft_minutes"):
            return "governance.view_cabmeeting"
        return None

    def perform_destroy(self, instance):
        if instance.status != "scheduled" or instance.items.exists():
            raise IllegalTransition(
                f"'{instance.title}' has started or has an agenda; cancel it instead of "
                "deleting it."
            )
        instance._change_reason = "deleted"
        instance.delete()

    def _answer(self, meeting, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=meeting.pk)
        return Response(self.get_serializer(fresh).data, status=code)

    @extend_schema(
        request=AgendaBodySerializer, responses=_responses(AgendaItemSerializer(many=True))
    )
    # The items added, as a plain list (not a paginated page).
    @action(detail=True, methods=["post"], url_path="build-agenda", pagination_class=None)
    def build_agenda(self, request, pk=None):
        """Add every candidate (or one ``release``); answers the items added."""
        meeting = self.get_object()
        body = AgendaBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        release = body.validated_data.get("release")
        if release is not None:
            added = [cab.add_item(meeting, release, request.user)]
        else:
            added = cab.build_agenda(meeting, request.user)
        items = AgendaItem.objects.filter(pk__in=[i.pk for i in added]).select_related("release")
        return Response(AgendaItemSerializer(items, many=True).data)

    @extend_schema(request=None, responses=_responses(CabMeetingSerializer))
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._answer(cab.start(self.get_object(), request.user))

    @extend_schema(request=CloseBodySerializer, responses=_responses(CabMeetingSerializer))
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close with ``minutes`` (required; GET ``draft-minutes/`` for a draft)."""
        meeting = self.get_object()
        cab.require_runner(meeting, request.user, "close the meeting")
        body = CloseBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(cab.close(meeting, request.user, body.validated_data["minutes"]))

    @extend_schema(request=None, responses=_responses(CabMeetingSerializer))
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._answer(cab.cancel(self.get_object(), request.user))

    @extend_schema(responses={200: DraftMinutesSerializer})
    @action(detail=True, methods=["get"], url_path="draft-minutes")
    def draft_minutes(self, request, pk=None):
        """Minutes generated from the attendees, votes and outcomes, for the chair to edit."""
        return Response({"minutes": cab.draft_minutes(self.get_object())})


class AgendaItemViewSet(viewsets.ReadOnlyModelViewSet):
    """Agenda items (filter by ``meeting``, ``release``, ``outcome``); vote and defer here."""

    queryset = AgendaItem.objects.select_related("release", "meeting").prefetch_related(
        "votes__voter", "votes__item__release"
    )
    serializer_class = AgendaItemSerializer
    filterset_class = AgendaItemFilterSet
    ordering_fields = ["position", "created", "decided_at"]

    def required_permission(self):
        if self.action in ("votes", "defer"):
            return "governance.view_agendaitem"
        return None

    @extend_schema(
        request=VoteBodySerializer,
        responses={
            201: VoteSerializer,
            403: OpenApiResponse(
                RefusalSerializer,
                description="Not an attendee, or refused by the approval policy / "
                "segregation of duties (recorded).",
            ),
            409: OpenApiResponse(
                RefusalSerializer,
                description="Meeting not in progress, item decided, or already voted.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def votes(self, request, pk=None):
        """Vote approve (with optional conditions), reject (comment required) or abstain."""
        item = self.get_object()
        cab.require_attendee(item.meeting, request.user)
        body = VoteBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        vote = cab.cast_vote(
            item,
            request.user,
            data["choice"],
            conditions=data["conditions"],
            comment=data["comment"],
        )
        fresh = Vote.objects.select_related("voter", "item__release").get(pk=vote.pk)
        return Response(VoteSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DeferBodySerializer, responses=_responses(AgendaItemSerializer))
    @action(detail=True, methods=["post"])
    def defer(self, request, pk=None):
        """The chair defers the item with a ``reason``; the release stays submitted."""
        item = self.get_object()
        cab.require_runner(item.meeting, request.user, "defer an item")
        body = DeferBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = cab.defer(item, request.user, body.validated_data["reason"])
        return Response(AgendaItemSerializer(self.get_queryset().get(pk=item.pk)).data)


class VoteViewSet(viewsets.ReadOnlyModelViewSet):
    """Every vote cast in a CAB meeting (votes are cast on ``agenda-items/{id}/votes/``)."""

    queryset = Vote.objects.select_related("voter", "item__release")
    serializer_class = VoteSerializer
    filterset_class = VoteFilterSet
    ordering_fields = ["created"]


def register(router):
    router.register("cab-meetings", CabMeetingViewSet)
    router.register("agenda-items", AgendaItemViewSet)
    router.register("votes", VoteViewSet)


urlpatterns = []
