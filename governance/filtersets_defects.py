"""Filters for defects and residual-risk acceptances, shared by the pages and the API."""

import django_filters
from django.db.models import Exists, OuterRef
from django.utils import timezone

from governance.choices import DefectSeverity, DefectStatus
from governance.models import BLOCKING_SEVERITIES, Defect, RiskAcceptance


def active_acceptance(now=None):
    """An unexpired, unrevoked acceptance listing the outer defect."""
    return RiskAcceptance.objects.filter(
        defects=OuterRef("pk"), revoked_at__isnull=True, expires_at__gt=now or timezone.now()
    )


def blocking_q(queryset, now=None):
    """Open critical/high defects no active acceptance covers (they stop the gate)."""
    return queryset.filter(status=DefectStatus.OPEN, severity__in=BLOCKING_SEVERITIES).exclude(
        Exists(active_acceptance(now))
    )


class DefectFilterSet(django_filters.FilterSet):
    release = django_filters.CharFilter(
        field_name="release__key", label="Release", help_text="Release key, e.g. REL-2026-0001."
    )
    severity = django_filters.MultipleChoiceFilter(choices=DefectSeverity.choices, label="Severity")
    status = django_filters.ChoiceFilter(choices=DefectStatus.choices, label="Status")
    service = django_filters.CharFilter(
        method="filter_service", label="Service", help_text="Slug of a service the release ships."
    )
    blocking = django_filters.BooleanFilter(
        method="filter_blocking",
        label="Blocking",
        help_text="Open critical/high defects no unexpired, unrevoked acceptance covers.",
    )
    escalated = django_filters.BooleanFilter(
        field_name="escalated_at", lookup_expr="isnull", exclude=True, label="Escalated"
    )

    class Meta:
        model = Defect
        fields = ["release", "severity", "status", "service", "blocking", "escalated"]

    def filter_service(self, queryset, name, value):
        return queryset.filter(release__release_services__service__slug=value).distinct()

    def filter_blocking(self, queryset, name, value):
        blocking = blocking_q(Defect.objects.all()).values("pk")
        return queryset.filter(pk__in=blocking) if value else queryset.exclude(pk__in=blocking)


class RiskAcceptanceFilterSet(django_filters.FilterSet):
    release = django_filters.CharFilter(field_name="release__key", label="Release")
    accepted_by = django_filters.CharFilter(field_name="accepted_by__username", label="Accepted by")
    state = django_filters.ChoiceFilter(
        choices=[("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")],
        method="filter_state",
        label="State",
    )

    class Meta:
        model = RiskAcceptance
        fields = ["release", "accepted_by", "state"]

    def filter_state(self, queryset, name, value):
        now = timezone.now()
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        queryset = queryset.filter(revoked_at__isnull=True)
        return (
            queryset.filter(expires_at__gt=now)
            if value == "active"
            else queryset.filter(expires_at__lte=now)
        )


def blocking_ids(defects, now=None) -> set[int]:
    """Which of these defects block their release now (one query)."""
    pks = [d.pk for d in defects if d.is_blocking]
    if not pks:
        return set()
    return set(blocking_q(Defect.objects.filter(pk__in=pks), now).values_list("pk", flat=True))
