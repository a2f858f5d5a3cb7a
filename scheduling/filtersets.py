import django_filters
from django.db.models import Q

from scheduling.models import Environment, FreezeWindow


class EnvironmentFilterSet(django_filters.FilterSet):
    class Meta:
        model = Environment
        fields = ["is_production"]


class FreezeWindowFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    active_at = django_filters.IsoDateTimeFilter(method="filter_active_at", label="Active at")
    ends_after = django_filters.IsoDateTimeFilter(field_name="end", lookup_expr="gt")
    starts_before = django_filters.IsoDateTimeFilter(field_name="start", lookup_expr="lt")
    service = django_filters.CharFilter(method="filter_service", label="Covers service")
    environment = django_filters.CharFilter(method="filter_environment", label="Covers environment")

    class Meta:
        model = FreezeWindow
        fields = ["q"]

    def filter_active_at(self, queryset, name, value):
        return queryset.active_at(value)

    def filter_service(self, queryset, name, value):
        return queryset.filter(Q(services__isnull=True) | Q(services__slug=value)).distinct()

    def filter_environment(self, queryset, name, value):
        return queryset.filter(
            Q(environments__isnull=True) | Q(environments__slug=value)
        ).distinct()
