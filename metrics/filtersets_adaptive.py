"""Filters for policy suggestions, shared by /metrics/policy-suggestions/ and its API."""

import django_filters

from metrics.models import PolicySuggestion
from metrics.models.adaptive import SuggestionDirection, SuggestionStatus


class PolicySuggestionFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SuggestionStatus.choices, label="Status")
    direction = django_filters.ChoiceFilter(choices=SuggestionDirection.choices, label="Direction")
    scope = django_filters.CharFilter(
        label="Team or domain", help_text='"team:<slug>" or "domain:<name>".'
    )

    class Meta:
        model = PolicySuggestion
        fields = ["status", "direction", "scope"]
