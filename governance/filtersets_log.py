"""Filters for the decision log, shared by its page, its export and ``/api/v1/decision-log/``."""

import django_filters

from governance.choices import DecisionKind
from governance.models import DecisionRecord
from releasemgr.filters import UTCDateTimeFilter


class DecisionRecordFilterSet(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=DecisionKind.choices, label="Kind")
    outcome = django_filters.CharFilter(label="Outcome", help_text="e.g. approved, refused.")
    release = django_filters.CharFilter(
        field_name="release_key", label="Release", help_text="Release key, e.g. REL-2026-0001."
    )
    actor = django_filters.CharFilter(
        field_name="actor_name", label="Actor", help_text="Username of who decided."
    )
    subject = django_filters.CharFilter(
        label="Subject", help_text="The record decided on, e.g. freeze-exception:12."
    )
    since = UTCDateTimeFilter(
        field_name="recorded_at", lookup_expr="gte", label="Since", help_text="Inclusive, ISO 8601."
    )
    until = UTCDateTimeFilter(
        field_name="recorded_at", lookup_expr="lt", label="Until", help_text="Exclusive, ISO 8601."
    )

    class Meta:
        model = DecisionRecord
        fields = ["kind", "outcome", "release", "actor", "subject", "since", "until"]
