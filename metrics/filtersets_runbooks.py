"""Filters for runbooks and their versions, shared by the pages and the API."""

import django_filters
from django.db.models import Q

from metrics.models.runbooks import Runbook, RunbookVersion
from releases.models import Service, Team
from scheduling.filtersets import SlugFilter


class RunbookFilterSet(django_filters.FilterSet):
    service = SlugFilter(queryset=Service.objects.all(), to_field_name="slug", label="Service")
    team = SlugFilter(
        field_name="service__team", queryset=Team.objects.all(), to_field_name="slug", label="Team"
    )
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = Runbook
        fields = ["service", "team", "q"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(slug__icontains=value))


class RunbookVersionFilterSet(django_filters.FilterSet):
    runbook = SlugFilter(queryset=Runbook.objects.all(), to_field_name="slug", label="Runbook")
    service = SlugFilter(
        field_name="runbook__service",
        queryset=Service.objects.all(),
        to_field_name="slug",
        label="Service",
    )

    class Meta:
        model = RunbookVersion
        fields = ["runbook", "service"]
