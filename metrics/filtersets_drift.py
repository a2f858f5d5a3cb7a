"""Filters for configuration snapshots and drift items, shared by the pages and the API."""

import django_filters

from metrics.models.drift import ConfigSnapshot, DriftItem, DriftKind, DriftStatus
from releases.models import Service
from scheduling.filtersets import SlugFilter
from scheduling.models import Environment


def _service():
    return SlugFilter(
        queryset=Service.objects.all(), to_field_name="slug", label="Service", help_text="Slug."
    )


def _environment():
    return SlugFilter(
        queryset=Environment.objects.all(),
        to_field_name="slug",
        label="Environment",
        help_text="Slug.",
    )


class ConfigSnapshotFilterSet(django_filters.FilterSet):
    service = _service()
    environment = _environment()
    source = django_filters.CharFilter(lookup_expr="icontains", label="Source")
    taken_after = django_filters.IsoDateTimeFilter(
        field_name="taken_at", lookup_expr="gte", label="Taken from"
    )

    class Meta:
        model = ConfigSnapshot
        fields = ["service", "environment", "source", "taken_after"]


class DriftItemFilterSet(django_filters.FilterSet):
    service = _service()
    environment = _environment()
    status = django_filters.ChoiceFilter(choices=DriftStatus.choices, label="Status")
    kind = django_filters.ChoiceFilter(choices=DriftKind.choices, label="Kind")
    key = django_filters.CharFilter(lookup_expr="icontains", label="Key")

    class Meta:
        model = DriftItem
        fields = ["service", "environment", "status", "kind", "key"]
