"""Filters for freeze exceptions, shared by the exceptions page and ``/api/v1/freeze-exceptions/``."""

import django_filters
from django.db.models import Case, F, IntegerField, Value, When

from releasemgr.filters import UTCDateTimeFilter
from releases.models import Release
from scheduling.choices import ExceptionStatus
from scheduling.models import FreezeException, FreezeWindow

# Queue order: pending first, expedited first among them, then soonest needed.
PENDING_EXPEDITED, PENDING, DECIDED = 0, 1, 2


def queue_order(queryset):
    """Pending (expedited first, soonest needed first), then the rest, latest first."""
    return queryset.annotate(
        queue=Case(
            When(status=ExceptionStatus.PENDING, expedited=True, then=Value(PENDING_EXPEDITED)),
            When(status=ExceptionStatus.PENDING, then=Value(PENDING)),
            default=Value(DECIDED),
            output_field=IntegerField(),
        ),
        needed_from=Case(When(status=ExceptionStatus.PENDING, then=F("valid_from"))),
    ).order_by("queue", F("needed_from").asc(nulls_last=True), "-created", "-pk")


class FreezeExceptionFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ExceptionStatus.choices, label="Status")
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(),
        to_field_name="key",
        label="Release",
        help_text="Release key, e.g. REL-2025-0001.",
    )
    window = django_filters.ModelChoiceFilter(
        queryset=FreezeWindow.objects.all(), label="Window", help_text="Calendar window id."
    )
    expedited = django_filters.BooleanFilter(label="Expedited")
    requested_by = django_filters.CharFilter(
        field_name="requested_by__username", label="Requested by"
    )
    valid_at = UTCDateTimeFilter(method="filter_valid_at", label="Valid at")

    class Meta:
        model = FreezeException
        fields = ["status", "release", "window", "expedited", "requested_by"]

    def filter_valid_at(self, queryset, name, value):
        return queryset.filter(valid_from__lte=value, valid_until__gt=value)
