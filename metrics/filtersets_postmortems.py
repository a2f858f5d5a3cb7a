"""Filters for post-mortems, their actions and checklist runs, shared by pages and the API."""

from datetime import UTC, datetime, time

import django_filters
from django.utils import timezone

from metrics.models.checklists import ChecklistRun, ChecklistTemplate
from metrics.models.postmortems import ActionItem, ActionStatus, PostMortem, PostMortemStatus
from metrics.postmortems import scope_q
from releases.models import Service, Team
from scheduling.filtersets import SlugFilter


def _start(value):
    return datetime.combine(value, time.min, tzinfo=UTC)


class PostMortemFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PostMortemStatus.choices)
    team = SlugFilter(
        queryset=Team.objects.all(), to_field_name="slug", label="Team", method="by_team"
    )
    service = SlugFilter(
        queryset=Service.objects.all(), to_field_name="slug", label="Service", method="by_service"
    )
    since = django_filters.DateFilter(method="by_since", label="Since (created, inclusive)")
    until = django_filters.DateFilter(method="by_until", label="Until (exclusive)")
    q = django_filters.CharFilter(method="search", label="Search")

    class Meta:
        model = PostMortem
        fields = ["status", "team", "service", "since", "until", "q"]

    def is_valid(self):
        valid = super().is_valid()
        data = getattr(self.form, "cleaned_data", {})
        since, until = data.get("since"), data.get("until")
        if valid and since and until and until <= since:
            self.form.add_error("until", "The end of the period must be after its start.")
            return False
        return valid

    def by_team(self, queryset, name, value):
        return queryset.filter(pk__in=PostMortem.objects.filter(scope_q(team=value)).values("pk"))

    def by_service(self, queryset, name, value):
        return queryset.filter(
            pk__in=PostMortem.objects.filter(scope_q(service=value)).values("pk")
        )

    def by_since(self, queryset, name, value):
        return queryset.filter(created__gte=_start(value))

    def by_until(self, queryset, name, value):
        return queryset.filter(created__lt=_start(value))

    def search(self, queryset, name, value):
        return queryset.filter(title__icontains=value)


class ActionItemFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ActionStatus.choices)
    owner = django_filters.CharFilter(field_name="owner__username", label="Owner (username)")
    postmortem = django_filters.NumberFilter(field_name="postmortem_id")
    overdue = django_filters.BooleanFilter(method="by_overdue", label="Overdue")

    class Meta:
        model = ActionItem
        fields = ["status", "owner", "postmortem", "overdue"]

    def by_overdue(self, queryset, name, value):
        today = timezone.localdate()
        if value:
            return queryset.filter(status=ActionStatus.OPEN, due_date__lt=today)
        return queryset.exclude(status=ActionStatus.OPEN, due_date__lt=today)


class ChecklistTemplateFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")

    class Meta:
        model = ChecklistTemplate
        fields = ["q"]


class ChecklistRunFilterSet(django_filters.FilterSet):
    deployment = django_filters.NumberFilter(field_name="deployment_id")
    template = SlugFilter(
        field_name="version__template",
        queryset=ChecklistTemplate.objects.all(),
        to_field_name="slug",
        label="Checklist",
    )

    class Meta:
        model = ChecklistRun
        fields = ["deployment", "template"]
