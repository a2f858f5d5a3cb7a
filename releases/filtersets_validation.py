"""Filters for quality gates and test results, shared by the pages and the API."""

import django_filters

from releasemgr.filters import UTCDateTimeFilter
from releases.models import Release, Service
from releases.models.validation import QualityGate, TestResult, TestResultStatus
from scheduling.models import Environment


class QualityGateFilterSet(django_filters.FilterSet):
    environment = django_filters.ModelChoiceFilter(
        queryset=Environment.objects.all(), to_field_name="slug", label="Environment"
    )
    active = django_filters.BooleanFilter(label="Active")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")

    class Meta:
        model = QualityGate
        fields = ["environment", "active", "q"]


class TestResultFilterSet(django_filters.FilterSet):
    __test__ = False  # not a pytest class

    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(),
        to_field_name="key",
        label="Release",
        help_text="Release key, e.g. REL-2026-0001.",
    )
    environment = django_filters.ModelChoiceFilter(
        queryset=Environment.objects.all(), to_field_name="slug", label="Environment"
    )
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), to_field_name="slug", label="Service"
    )
    suite = django_filters.CharFilter(label="Suite", help_text="smoke, performance, …")
    status = django_filters.ChoiceFilter(choices=TestResultStatus.choices, label="Status")
    reported_after = UTCDateTimeFilter(field_name="reported_at", lookup_expr="gte")
    reported_before = UTCDateTimeFilter(field_name="reported_at", lookup_expr="lt")

    class Meta:
        model = TestResult
        fields = ["release", "environment", "service", "suite", "status"]
