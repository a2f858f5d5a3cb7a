"""The vulnerability filters, shared by the HTML list and the API list."""

import django_filters
from django.db.models import Q
from django.utils import timezone

from releasemgr.filters import UTCDateTimeFilter
from scheduling import patching
from scheduling.choices import Severity, VulnerabilityStatus
from scheduling.models import Vulnerability

STATE_CHOICES = [
    (patching.OVERDUE, "Overdue"),
    (patching.AT_RISK, "At risk"),
    (patching.ON_TRACK, "On track"),
    (patching.DONE, "Patched or accepted"),
    (patching.UNRESOLVED_STATE, "Not yet patched"),
]


class VulnerabilityFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")
    severity = django_filters.ChoiceFilter(choices=Severity.choices, label="Severity")
    status = django_filters.ChoiceFilter(choices=VulnerabilityStatus.choices, label="Status")
    service = django_filters.CharFilter(method="filter_service", label="Service")
    sla = django_filters.ChoiceFilter(
        choices=STATE_CHOICES, method="filter_sla", label="Patch deadline"
    )
    due_before = UTCDateTimeFilter(field_name="due_at", lookup_expr="lt")
    due_after = UTCDateTimeFilter(field_name="due_at", lookup_expr="gte")

    class Meta:
        model = Vulnerability
        fields = ["q", "severity", "status", "service", "sla"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(cve_id__icontains=value) | Q(title__icontains=value))

    def filter_service(self, queryset, name, value):
        return queryset.filter(
            pk__in=Vulnerability.services.through.objects.filter(service__slug=value).values(
                "vulnerability_id"
            )
        )

    def filter_sla(self, queryset, name, value):
        return queryset.filter(patching.state_q(value, timezone.now()))
