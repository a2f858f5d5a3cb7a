"""Filters for go-live rules and vendor deliverables, shared by their pages and the API."""

import django_filters
from django.db.models import F, Q
from django.utils import timezone

from releasemgr.filters import UTCDateTimeFilter
from releases.models import Release, Service
from scheduling.models import GoLiveRule, Region, VendorDeliverable


class GoLiveRuleFilterSet(django_filters.FilterSet):
    region = django_filters.ModelChoiceFilter(
        queryset=Region.objects.all(), to_field_name="code", label="Region"
    )
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(),
        to_field_name="key",
        method="filter_release",
        label="Release",
        help_text="Release key: its own rules and those of the services it ships.",
    )
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), to_field_name="slug", label="Service"
    )
    after = UTCDateTimeFilter(field_name="earliest_at", lookup_expr="gt", label="Earliest after")

    class Meta:
        model = GoLiveRule
        fields = ["region", "release", "service"]

    def filter_release(self, queryset, name, value):
        service_ids = value.release_services.values("service_id")
        return queryset.filter(
            Q(release=value) | Q(release__isnull=True, service_id__in=service_ids)
        )


class VendorDeliverableFilterSet(django_filters.FilterSet):
    STATUS_CHOICES = [
        ("pending", "Not delivered"),
        ("overdue", "Overdue (expected date passed)"),
        ("delivered", "Delivered"),
    ]

    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(), to_field_name="key", label="Release"
    )
    vendor = django_filters.CharFilter(lookup_expr="icontains", label="Vendor")
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", label="Status", empty_label="Any"
    )
    expected_before = UTCDateTimeFilter(
        field_name="expected_at", lookup_expr="lt", label="Expected before"
    )

    class Meta:
        model = VendorDeliverable
        fields = ["release", "vendor", "status"]

    def filter_status(self, queryset, name, value):
        if value == "pending":
            return queryset.filter(delivered_at__isnull=True)
        if value == "overdue":
            return queryset.filter(delivered_at__isnull=True, expected_at__lt=timezone.now())
        if value == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        return queryset


def deliverables_by_readiness(queryset):
    """Undelivered first, soonest expected first."""
    return queryset.order_by(F("delivered_at").asc(nulls_first=True), "expected_at", "pk")
