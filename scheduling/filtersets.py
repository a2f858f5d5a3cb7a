"""Filters shared by the HTML lists and the API lists of environments, windows and regions.

Scope filters read like the gate does: a window "covers" a service when it names the service,
its team, or nothing at all (empty = all), and likewise for environments and regions.
Time filters follow recurrences: ``active_at`` asks ``scheduling.windows`` which
occurrences cover the moment.
"""

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from releasemgr.filters import UTCDateTimeFilter
from releases.models import Service, Team
from scheduling.choices import Hardness, WindowKind
from scheduling.models import Environment, FreezeWindow, Region


class EnvironmentFilterSet(django_filters.FilterSet):
    class Meta:
        model = Environment
        fields = ["is_production"]


@extend_schema_field(OpenApiTypes.STR)
class SlugFilter(django_filters.ModelChoiceFilter):
    """An object named by its slug (or code); an unknown one is a field error."""


def _links(relation: str, **lookup) -> Exists:
    through = getattr(FreezeWindow, relation).through
    return Exists(through.objects.filter(freezewindow_id=OuterRef("pk"), **lookup))


def covers_service(queryset, service: Service):
    return queryset.filter(
        (~_links("services") & ~_links("teams"))
        | _links("services", service_id=service.pk)
        | _links("teams", team_id=service.team_id)
    )


def covers_team(queryset, team: Team):
    return queryset.filter(
        (~_links("services") & ~_links("teams"))
        | _links("services", service__team_id=team.pk)
        | _links("teams", team_id=team.pk)
    )


def covers(queryset, relation: str, field: str, obj):
    return queryset.filter(~_links(relation) | _links(relation, **{field: obj.pk}))


def still_running(queryset, moment):
    """Windows with an occurrence ending after ``moment`` (recurring ones until they stop)."""
    return queryset.filter(
        Q(rrule="", end__gt=moment)
        | (~Q(rrule="") & (Q(recurrence_until__isnull=True) | Q(recurrence_until__gt=moment)))
    )


def finished(queryset, moment):
    return queryset.exclude(pk__in=still_running(FreezeWindow.objects.all(), moment).values("pk"))


class FreezeWindowFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    kind = django_filters.MultipleChoiceFilter(choices=WindowKind.choices, label="Kind")
    hardness = django_filters.ChoiceFilter(choices=Hardness.choices, label="Hardness")
    recurring = django_filters.BooleanFilter(method="filter_recurring", label="Recurring")
    active_at = UTCDateTimeFilter(method="filter_active_at", label="Active at")
    ends_after = UTCDateTimeFilter(method="filter_ends_after", label="Ends after")
    starts_before = UTCDateTimeFilter(field_name="start", lookup_expr="lt")
    # Unknown slugs are field errors (400 in the API, a message above the HTML list).
    service = SlugFilter(
        queryset=Service.objects.all(),
        to_field_name="slug",
        method="filter_service",
        label="Covers service",
    )
    team = SlugFilter(
        queryset=Team.objects.all(), to_field_name="slug", method="filter_team", label="Covers team"
    )
    environment = SlugFilter(
        queryset=Environment.objects.all(),
        to_field_name="slug",
        method="filter_environment",
        label="Covers environment",
    )
    region = SlugFilter(
        queryset=Region.objects.all(),
        to_field_name="code",
        method="filter_region",
        label="Covers region",
    )

    class Meta:
        model = FreezeWindow
        fields = ["q"]

    def filter_recurring(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(rrule="") if value else queryset.filter(rrule="")

    def filter_active_at(self, queryset, name, value):
        from scheduling.windows import windows_at

        ids = {o.window.pk for o in windows_at(value, prefetch=())}
        return queryset.filter(pk__in=ids)

    def filter_ends_after(self, queryset, name, value):
        return still_running(queryset, value)

    def filter_service(self, queryset, name, value):
        return covers_service(queryset, value)

    def filter_team(self, queryset, name, value):
        return covers_team(queryset, value)

    def filter_environment(self, queryset, name, value):
        return covers(queryset, "environments", "environment_id", value)

    def filter_region(self, queryset, name, value):
        return covers(queryset, "regions", "region_id", value)


class WindowListFilterSet(FreezeWindowFilterSet):
    """The shared window filters plus a "when" choice for the page."""

    when = django_filters.ChoiceFilter(
        choices=[("current", "Active now"), ("upcoming", "Upcoming"), ("past", "Ended")],
        method="filter_when",
        label="When",
        empty_label="Any time",
    )

    class Meta(FreezeWindowFilterSet.Meta):
        fields = ["q"]

    def filter_when(self, queryset, name, value):
        now = timezone.now()
        if value == "current":
            return self.filter_active_at(queryset, name, now)
        if value == "upcoming":
            return queryset.filter(
                Q(rrule="", start__gt=now)
                | (~Q(rrule="") & (Q(recurrence_until__isnull=True) | Q(recurrence_until__gt=now)))
            )
        if value == "past":
            return finished(queryset, now)
        return queryset


class RegionFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")
    country_code = django_filters.CharFilter(lookup_expr="iexact", label="Country")

    class Meta:
        model = Region
        fields = ["q", "country_code"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))
