"""Filters for change models and retrospectives, shared by the pages and the API."""

import django_filters
from django.db.models import Q
from django.utils import timezone

from governance.choices import RiskBand
from governance.models import ChangeModel, Retrospective
from releasemgr.filters import UTCDateTimeFilter
from releases.models import Release, Service, Team

RETRO_STATES = [("open", "Open"), ("overdue", "Overdue"), ("completed", "Completed")]


class ChangeModelFilterSet(django_filters.FilterSet):
    active = django_filters.BooleanFilter(label="Active")
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(),
        to_field_name="slug",
        field_name="services",
        label="Service",
        help_text="Models that cover this service (slug).",
    )
    risk_ceiling = django_filters.ChoiceFilter(choices=RiskBand.choices, label="Risk ceiling")
    q = django_filters.CharFilter(method="filter_q", label="Search")

    class Meta:
        model = ChangeModel
        fields = ["active", "service", "risk_ceiling", "q"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class RetrospectiveFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=RETRO_STATES,
        method="filter_state",
        label="State",
        help_text="open (not completed), overdue (open past its due date) or completed.",
    )
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(),
        to_field_name="key",
        label="Release",
        help_text="Release key, e.g. REL-2026-0001.",
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(),
        to_field_name="slug",
        field_name="release__services__team",
        distinct=True,
        label="Team",
        help_text="Retrospectives of releases shipping a service of this team.",
    )
    due_before = UTCDateTimeFilter(field_name="due_at", lookup_expr="lt", label="Due before")

    class Meta:
        model = Retrospective
        fields = ["state", "release", "team", "due_before"]

    def filter_state(self, queryset, name, value):
        if value == "completed":
            return queryset.filter(completed_at__isnull=False)
        queryset = queryset.filter(completed_at__isnull=True)
        if value == "overdue":
            queryset = queryset.filter(due_at__lt=timezone.now())
        return queryset
