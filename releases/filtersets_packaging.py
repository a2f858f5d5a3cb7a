"""Filters for artifacts, configuration sets, migration plans and compensating scripts, shared by
the pages and the API."""

import django_filters

from releases.models import (
    Artifact,
    CompensatingScript,
    ConfigSet,
    MigrationPlan,
    Release,
    ScopeItem,
    Service,
)
from releases.models.packaging import ArtifactKind, MigrationDelivery
from scheduling.filtersets import SlugFilter
from scheduling.models import Environment


def _release_filter(field_name: str = "release"):
    return SlugFilter(
        field_name=field_name,
        queryset=Release.objects.all(),
        to_field_name="key",
        label="Release",
        help_text="Release key, e.g. REL-2026-0001.",
    )


def _service_filter(field_name: str = "service"):
    return SlugFilter(
        field_name=field_name,
        queryset=Service.objects.all(),
        to_field_name="slug",
        label="Service",
        help_text="Service slug.",
    )


class ArtifactFilterSet(django_filters.FilterSet):
    release = _release_filter()
    service = _service_filter()
    kind = django_filters.ChoiceFilter(choices=ArtifactKind.choices, label="Kind")
    sha256 = django_filters.CharFilter(lookup_expr="iexact", label="SHA-256")

    class Meta:
        model = Artifact
        fields = ["release", "service", "kind", "sha256"]


class ConfigSetFilterSet(django_filters.FilterSet):
    service = _service_filter()
    environment = SlugFilter(
        queryset=Environment.objects.all(), to_field_name="slug", label="Environment"
    )

    class Meta:
        model = ConfigSet
        fields = ["service", "environment"]


class MigrationPlanFilterSet(django_filters.FilterSet):
    release = _release_filter("scope_item__release")
    scope_item = django_filters.ModelChoiceFilter(
        queryset=ScopeItem.objects.all(), label="Scope item"
    )
    delivery = django_filters.ChoiceFilter(choices=MigrationDelivery.choices, label="Delivery")
    backward_compatible = django_filters.BooleanFilter(label="Backward compatible")

    class Meta:
        model = MigrationPlan
        fields = ["release", "scope_item", "delivery", "backward_compatible"]


class CompensatingScriptFilterSet(django_filters.FilterSet):
    artifact = django_filters.ModelChoiceFilter(queryset=Artifact.objects.all(), label="Artifact")
    release = _release_filter("artifact__release")
    tested = django_filters.BooleanFilter(label="Tested")

    class Meta:
        model = CompensatingScript
        fields = ["artifact", "release", "tested"]
