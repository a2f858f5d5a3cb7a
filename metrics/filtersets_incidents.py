"""Filters for incidents and integrity checks, shared by the pages and the API."""

import django_filters

from metrics.models import Incident, IntegrityCheck
from metrics.models.incidents import Attribution, IncidentSeverity, IncidentStatus
from metrics.models.integrity import IntegrityKind


class IncidentFilterSet(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service__slug", label="Service")
    severity = django_filters.MultipleChoiceFilter(
        choices=IncidentSeverity.choices, label="Severity"
    )
    status = django_filters.ChoiceFilter(choices=IncidentStatus.choices, label="Status")
    release = django_filters.CharFilter(
        field_name="release__key", label="Release", help_text="Key of the attributed release."
    )
    attribution = django_filters.ChoiceFilter(choices=Attribution.choices, label="Attribution")
    since = django_filters.DateFilter(
        field_name="started_at",
        lookup_expr="date__gte",
        label="Started on or after",
        help_text="Date (UTC), inclusive.",
    )
    until = django_filters.DateFilter(
        field_name="started_at",
        lookup_expr="date__lt",
        label="Started before",
        help_text="Date (UTC), exclusive.",
    )
    external_id = django_filters.CharFilter(field_name="external_id", label="External id")

    class Meta:
        model = Incident
        fields = ["service", "severity", "status", "release", "attribution", "since", "until"]


class IntegrityCheckFilterSet(django_filters.FilterSet):
    release = django_filters.CharFilter(field_name="release__key", label="Release")
    service = django_filters.CharFilter(field_name="service__slug", label="Service")
    kind = django_filters.ChoiceFilter(choices=IntegrityKind.choices, label="Kind")
    job_name = django_filters.CharFilter(field_name="job_name", label="Job")

    class Meta:
        model = IntegrityCheck
        fields = ["release", "service", "kind", "job_name"]
