"""Filters for rollback steps and DR tests, shared by the pages and the API."""

import django_filters

from releasemgr.filters import UTCDateTimeFilter
from releases.models import DrResult, DrTest, Release, RollbackStep, Service


class RollbackStepFilterSet(django_filters.FilterSet):
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(),
        to_field_name="key",
        label="Release",
        help_text="Release key, e.g. REL-2026-0001.",
    )
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), to_field_name="slug", label="Service"
    )

    class Meta:
        model = RollbackStep
        fields = ["release", "service"]


class DrTestFilterSet(django_filters.FilterSet):
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), to_field_name="slug", label="Service"
    )
    result = django_filters.ChoiceFilter(choices=DrResult.choices, label="Result")
    since = UTCDateTimeFilter(
        field_name="tested_at", lookup_expr="gte", label="Tested since", help_text="UTC."
    )

    class Meta:
        model = DrTest
        fields = ["service", "result", "since"]
