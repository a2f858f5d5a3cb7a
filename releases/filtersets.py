"""Filters shared by the HTML lists and the API lists."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from releasemgr.filters import UTCDateTimeFilter
from releases.choices import (
    ChangeType,
    DeploymentStatus,
    GateStatus,
    ReleaseKind,
    ReleaseState,
    RiskProfile,
    ScopeDecision,
    ScopeKind,
    Tier,
)
from releases.models import (
    Deployment,
    GateDecision,
    Release,
    ScopeItem,
    Service,
    ServiceDependency,
    Team,
)
from scheduling.models import Environment

User = get_user_model()


class SearchFilterMixin(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    search_fields: tuple[str, ...] = ()

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value})
        return queryset.filter(query)


class TeamFilterSet(SearchFilterMixin):
    search_fields = ("slug", "name", "description")

    class Meta:
        model = Team
        fields = ["q"]


class ServiceFilterSet(SearchFilterMixin):
    search_fields = ("slug", "name", "description")
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), to_field_name="slug", field_name="team"
    )
    tier = django_filters.ChoiceFilter(choices=Tier.choices)
    risk_profile = django_filters.ChoiceFilter(choices=RiskProfile.choices)

    class Meta:
        model = Service
        fields = ["q", "team", "tier", "customer_facing", "ha_required", "risk_profile"]


class ServiceDependencyFilterSet(django_filters.FilterSet):
    service = django_filters.CharFilter(field_name="service__slug")
    depends_on = django_filters.CharFilter(field_name="depends_on__slug")

    class Meta:
        model = ServiceDependency
        fields = ["service", "depends_on", "kind"]


class ReleaseFilterSet(SearchFilterMixin):
    search_fields = ("key", "name", "version", "description")
    state = django_filters.MultipleChoiceFilter(choices=ReleaseState.choices)
    kind = django_filters.ChoiceFilter(choices=ReleaseKind.choices)
    change_type = django_filters.ChoiceFilter(choices=ChangeType.choices)
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(),
        to_field_name="slug",
        field_name="services",
        label="Service",
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(),
        to_field_name="slug",
        field_name="services__team",
        label="Team",
        distinct=True,
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=User.objects.all(), to_field_name="username", field_name="owner"
    )
    planned_after = UTCDateTimeFilter(field_name="planned_start", lookup_expr="gte")
    planned_before = UTCDateTimeFilter(field_name="planned_start", lookup_expr="lt")

    class Meta:
        model = Release
        fields = ["q", "state", "kind", "change_type", "service", "team", "owner"]

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset).distinct()


class ScopeItemFilterSet(SearchFilterMixin):
    search_fields = ("title", "reference", "rationale")
    release = django_filters.CharFilter(field_name="release__key")
    kind = django_filters.ChoiceFilter(choices=ScopeKind.choices)
    decision = django_filters.ChoiceFilter(choices=ScopeDecision.choices)
    service = django_filters.CharFilter(field_name="service__slug")

    class Meta:
        model = ScopeItem
        fields = ["q", "release", "kind", "decision", "service"]


class DeploymentFilterSet(django_filters.FilterSet):
    release = django_filters.CharFilter(field_name="release__key")
    environment = django_filters.ModelChoiceFilter(
        queryset=Environment.objects.all(), to_field_name="slug", field_name="environment"
    )
    status = django_filters.MultipleChoiceFilter(choices=DeploymentStatus.choices)
    started_after = UTCDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = UTCDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Deployment
        fields = ["release", "environment", "status"]


class GateDecisionFilterSet(django_filters.FilterSet):
    release = django_filters.CharFilter(field_name="release__key")
    service = django_filters.CharFilter(field_name="service_slug")
    environment = django_filters.CharFilter(field_name="environment_slug")
    status = django_filters.ChoiceFilter(choices=GateStatus.choices)

    class Meta:
        model = GateDecision
        fields = ["release", "service", "environment", "status", "purpose"]
