"""Filters for bookings, test data sets, validation needs and release dependencies.

Shared by the HTML pages and the API lists (one FilterSet for both).
"""

import django_filters
from django.db.models import Q
from django.utils import timezone

from releasemgr.filters import UTCDateTimeFilter
from scheduling.choices import ReservationPurpose
from scheduling.models import (
    Environment,
    ReleaseDependency,
    Reservation,
    TestDataSet,
    ValidationNeed,
)

WHEN_CHOICES = [
    ("active", "Active now"),
    ("upcoming", "Upcoming"),
    ("past", "Past"),
    ("cancelled", "Cancelled"),
]


class ReservationFilterSet(django_filters.FilterSet):
    environment = django_filters.ModelChoiceFilter(
        queryset=Environment.objects.filter(is_production=False).order_by("order"),
        to_field_name="slug",
        label="Environment",
    )
    release = django_filters.CharFilter(
        field_name="release__key", lookup_expr="iexact", label="Release key"
    )
    purpose = django_filters.ChoiceFilter(choices=ReservationPurpose.choices, label="Purpose")
    when = django_filters.ChoiceFilter(
        choices=WHEN_CHOICES, method="filter_when", label="When", empty_label="Any time"
    )
    data_set = django_filters.CharFilter(
        field_name="test_data_sets__slug", label="Test data set", distinct=True
    )
    ends_after = UTCDateTimeFilter(field_name="end", lookup_expr="gt")
    starts_before = UTCDateTimeFilter(field_name="start", lookup_expr="lt")

    class Meta:
        model = Reservation
        fields = ["environment", "release", "purpose", "when", "data_set"]

    def filter_when(self, queryset, name, value):
        now = timezone.now()
        live = queryset.filter(cancelled_at__isnull=True)
        if value == "active":
            return live.filter(start__lte=now, end__gt=now)
        if value == "upcoming":
            return live.filter(start__gt=now)
        if value == "past":
            return live.filter(end__lte=now)
        if value == "cancelled":
            return queryset.filter(cancelled_at__isnull=False)
        return queryset


class TestDataSetFilterSet(django_filters.FilterSet):
    __test__ = False  # not a pytest test class

    q = django_filters.CharFilter(method="filter_q", label="Search")
    environment = django_filters.CharFilter(
        field_name="environments__slug", label="Environment", distinct=True
    )

    class Meta:
        model = TestDataSet
        fields = ["q", "environment"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))


class ValidationNeedFilterSet(django_filters.FilterSet):
    release = django_filters.CharFilter(field_name="release__key", lookup_expr="iexact")
    environment = django_filters.CharFilter(field_name="environment__slug")

    class Meta:
        model = ValidationNeed
        fields = ["release", "environment"]


class ReleaseDependencyFilterSet(django_filters.FilterSet):
    release = django_filters.CharFilter(field_name="release__key", lookup_expr="iexact")
    after = django_filters.CharFilter(field_name="after__key", lookup_expr="iexact")

    class Meta:
        model = ReleaseDependency
        fields = ["release", "after"]
