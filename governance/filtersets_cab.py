"""Filters for CAB meetings, agenda items and votes: shared by the pages and the API."""

import django_filters

from governance.choices import AgendaOutcome, MeetingKind, MeetingStatus, VoteChoice
from governance.models import AgendaItem, CabMeeting, Vote
from releasemgr.filters import UTCDateTimeFilter


class CabMeetingFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MeetingStatus.choices, label="Status")
    kind = django_filters.ChoiceFilter(choices=MeetingKind.choices, label="Kind")
    scheduled_after = UTCDateTimeFilter(field_name="scheduled_at", lookup_expr="gte", label="From")
    scheduled_before = UTCDateTimeFilter(field_name="scheduled_at", lookup_expr="lt", label="Until")
    chair = django_filters.CharFilter(field_name="chair__username", label="Chair")
    attendee = django_filters.CharFilter(
        field_name="attendees__username", label="Attendee", distinct=True
    )

    class Meta:
        model = CabMeeting
        fields = ["status", "kind", "chair"]


class AgendaItemFilterSet(django_filters.FilterSet):
    meeting = django_filters.ModelChoiceFilter(queryset=CabMeeting.objects.all(), label="Meeting")
    release = django_filters.CharFilter(field_name="release__key", label="Release")
    outcome = django_filters.ChoiceFilter(choices=AgendaOutcome.choices, label="Outcome")

    class Meta:
        model = AgendaItem
        fields = ["meeting", "release", "outcome"]


class VoteFilterSet(django_filters.FilterSet):
    item = django_filters.ModelChoiceFilter(queryset=AgendaItem.objects.all(), label="Agenda item")
    meeting = django_filters.ModelChoiceFilter(
        field_name="item__meeting", queryset=CabMeeting.objects.all(), label="Meeting"
    )
    release = django_filters.CharFilter(field_name="item__release__key", label="Release")
    voter = django_filters.CharFilter(field_name="voter__username", label="Voter")
    choice = django_filters.ChoiceFilter(choices=VoteChoice.choices, label="Choice")

    class Meta:
        model = Vote
        fields = ["item", "voter", "choice"]
