"""Filters for API versions, consumers, API changes and integration flows (pages and API)."""

import django_filters

from releases.models import (
    ApiChange,
    ApiConsumer,
    ApiVersion,
    IntegrationFlow,
    Release,
    Service,
    Team,
)
from releases.models.interfaces import ApiChangeKind, ApiVersionStatus


class ApiVersionFilterSet(django_filters.FilterSet):
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), to_field_name="slug", label="Service"
    )
    status = django_filters.ChoiceFilter(choices=ApiVersionStatus.choices, label="Status")
    consumer = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(),
        to_field_name="slug",
        field_name="consumers__consumer_service",
        distinct=True,
        label="Consumed by",
        help_text="Slug of a service that consumes the version.",
    )
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")

    class Meta:
        model = ApiVersion
        fields = ["service", "status", "consumer", "q"]


class ApiConsumerFilterSet(django_filters.FilterSet):
    api_version = django_filters.ModelChoiceFilter(
        queryset=ApiVersion.objects.all(), label="API version"
    )
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(),
        to_field_name="slug",
        field_name="api_version__service",
        label="Provider service",
    )
    consumer_service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), to_field_name="slug", label="Consumer service"
    )

    class Meta:
        model = ApiConsumer
        fields = ["api_version", "service", "consumer_service"]


class ApiChangeFilterSet(django_filters.FilterSet):
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(), to_field_name="key", label="Release"
    )
    api_version = django_filters.ModelChoiceFilter(
        queryset=ApiVersion.objects.all(), label="API version"
    )
    change = django_filters.ChoiceFilter(choices=ApiChangeKind.choices, label="Change")

    class Meta:
        model = ApiChange
        fields = ["release", "api_version", "change"]


class IntegrationFlowFilterSet(django_filters.FilterSet):
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(),
        to_field_name="key",
        field_name="plan__release",
        label="Release",
    )
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(),
        to_field_name="slug",
        field_name="services__team",
        distinct=True,
        label="Team",
    )

    class Meta:
        model = IntegrationFlow
        fields = ["release", "team"]
