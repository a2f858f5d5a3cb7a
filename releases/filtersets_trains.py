"""Filters for trains, train cars, library usages and pins, shared by the pages and the API."""

import django_filters
from django.db.models import Q

from releasemgr.filters import UTCDateTimeFilter
from releases.choices import DependencyKind
from releases.models import Release, Service
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain, TrainCar


def _libraries():
    return Service.objects.filter(dependent_links__kind=DependencyKind.LIBRARY).distinct()


class ReleaseTrainFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")
    active = django_filters.BooleanFilter(label="Active")

    class Meta:
        model = ReleaseTrain
        fields = ["q", "active"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))


class TrainCarFilterSet(django_filters.FilterSet):
    train = django_filters.ModelChoiceFilter(
        queryset=ReleaseTrain.objects.all(), to_field_name="slug", label="Train"
    )
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(), to_field_name="key", label="Release"
    )
    departure_after = UTCDateTimeFilter(
        field_name="departure", lookup_expr="gte", label="Departing at or after"
    )

    class Meta:
        model = TrainCar
        fields = ["train", "release", "departure_after"]


class LibraryUsageFilterSet(django_filters.FilterSet):
    library = django_filters.ModelChoiceFilter(
        queryset=_libraries(), to_field_name="slug", label="Library"
    )
    service = django_filters.ModelChoiceFilter(
        queryset=Service.objects.all(), to_field_name="slug", label="Service"
    )

    class Meta:
        model = LibraryUsage
        fields = ["library", "service"]


class ReleaseLibraryPinFilterSet(django_filters.FilterSet):
    library = django_filters.ModelChoiceFilter(
        queryset=_libraries(), to_field_name="slug", label="Library"
    )
    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.all(), to_field_name="key", label="Release"
    )

    class Meta:
        model = ReleaseLibraryPin
        fields = ["library", "release"]
