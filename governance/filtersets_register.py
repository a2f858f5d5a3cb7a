"""Filters for the risk and known-error register, shared by the page, the export and the API."""

import django_filters
from django.contrib.auth import get_user_model

from governance.choices import RegisterKind, RegisterStatus
from governance.models import RegisterEntry
from governance.register import OPEN_STATUSES
from releases.models import Release, Service, Team


class RegisterEntryFilterSet(django_filters.FilterSet):
    open = django_filters.BooleanFilter(
        method="filter_open", label="Open only", help_text="Not closed (open, mitigated, accepted)."
    )
    kind = django_filters.ChoiceFilter(choices=RegisterKind.choices, label="Kind")
    status = django_filters.ChoiceFilter(choices=RegisterStatus.choices, label="Status")
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(),
        to_field_name="key",
        label="Release",
        help_text="Release key, e.g. REL-2026-0001.",
    )
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), to_field_name="slug", label="Service"
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(),
        to_field_name="slug",
        field_name="service__team",
        label="Team",
        help_text="Entries on the team's services.",
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.all(), to_field_name="username", label="Owner"
    )
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title")

    class Meta:
        model = RegisterEntry
        fields = ["open", "kind", "status", "release", "service", "team", "owner", "q"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.exclude(status__in=OPEN_STATUSES)
