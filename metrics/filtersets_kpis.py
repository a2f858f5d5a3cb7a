"""Filters for KPIs, KPI samples, stabilisation windows and KPI alerts (pages and API)."""

import django_filters

from metrics.models import Kpi, KpiAlert, KpiSample, StabilisationWindow
from metrics.models.kpis import KpiKind
from metrics.models.stabilisation import Verdict, WindowState


class KpiFilterSet(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service__slug", label="Service")
    kind = django_filters.ChoiceFilter(choices=KpiKind.choices, label="Kind")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")

    class Meta:
        model = Kpi
        fields = ["service", "kind", "q"]


class KpiSampleFilterSet(django_filters.FilterSet):
    kpi = django_filters.CharFilter(field_name="kpi__name", label="KPI")
    kpi_id = django_filters.ModelChoiceFilter(
        field_name="kpi", queryset=Kpi.objects.all(), label="KPI id"
    )
    service = django_filters.CharFilter(field_name="kpi__service__slug", label="Service")
    environment = django_filters.CharFilter(field_name="environment__slug", label="Environment")
    since = django_filters.IsoDateTimeFilter(
        field_name="measured_at", lookup_expr="gte", label="Measured at or after"
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="measured_at", lookup_expr="lt", label="Measured before"
    )

    class Meta:
        model = KpiSample
        fields = ["kpi", "kpi_id", "service", "environment", "since", "until"]


class StabilisationWindowFilterSet(django_filters.FilterSet):
    release = django_filters.CharFilter(field_name="release__key", label="Release")
    service = django_filters.CharFilter(method="filter_service", label="Service")
    state = django_filters.ChoiceFilter(choices=WindowState.choices, label="State")
    verdict = django_filters.ChoiceFilter(
        choices=[c for c in Verdict.choices if c[0]], label="Verdict"
    )

    class Meta:
        model = StabilisationWindow
        fields = ["release", "service", "state", "verdict"]

    def filter_service(self, queryset, name, value):
        return queryset.filter(release__release_services__service__slug=value).distinct()


class KpiAlertFilterSet(django_filters.FilterSet):
    release = django_filters.CharFilter(field_name="window__release__key", label="Release")
    service = django_filters.CharFilter(field_name="kpi__service__slug", label="Service")
    window = django_filters.ModelChoiceFilter(
        queryset=StabilisationWindow.objects.all(), label="Window", help_text="Window id."
    )
    acknowledged = django_filters.BooleanFilter(
        field_name="acknowledged_at", lookup_expr="isnull", exclude=True, label="Acknowledged"
    )

    class Meta:
        model = KpiAlert
        fields = ["release", "service", "window", "acknowledged"]
