"""Filters for scope change requests and tech-debt estimates, shared by the pages and the API."""

import django_filters
from django.contrib.auth import get_user_model

from releases.models import Release, ScopeChangeRequest, TechDebtEstimate
from releases.models.scope_changes import ScopeChangeKind, ScopeChangeStatus


class ScopeChangeRequestFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ScopeChangeStatus.choices, label="Status")
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(),
        to_field_name="key",
        field_name="release",
        label="Release",
        help_text="Release key, e.g. REL-2026-0001.",
    )
    kind = django_filters.ChoiceFilter(choices=ScopeChangeKind.choices, label="Kind")
    requested_by = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.all(),
        to_field_name="username",
        field_name="requested_by",
        label="Requested by",
        help_text="Username.",
    )

    class Meta:
        model = ScopeChangeRequest
        fields = ["status", "release", "kind", "requested_by"]


class TechDebtEstimateFilterSet(django_filters.FilterSet):
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(),
        to_field_name="key",
        field_name="scope_item__release",
        label="Release",
    )

    class Meta:
        model = TechDebtEstimate
        fields = ["release"]
