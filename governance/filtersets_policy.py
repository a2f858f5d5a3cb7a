"""Filters of the approval-rule list, shared by the policy page and ``/api/v1/approval-rules/``."""

import django_filters
from django.db.models import Q

from governance.choices import RiskBand, Touches
from governance.models import ApprovalRule, PolicyVersion
from releasemgr.roles import ALL_ROLES
from releases.choices import ChangeType


class ApprovalRuleFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name contains")
    active = django_filters.BooleanFilter()
    change_type = django_filters.ChoiceFilter(
        choices=ChangeType.choices,
        method="filter_change_type",
        label="Applies to change type",
    )
    min_band = django_filters.ChoiceFilter(choices=RiskBand.choices, label="Minimum band")
    touches = django_filters.ChoiceFilter(
        choices=Touches.choices, method="filter_touches", label="Touches"
    )
    group = django_filters.ChoiceFilter(
        choices=[(r, r) for r in ALL_ROLES], method="filter_group", label="Asks for"
    )

    class Meta:
        model = ApprovalRule
        fields = ["q", "active", "change_type", "min_band", "touches", "group"]

    def filter_q(self, queryset, name, value):
        return queryset.filter(name__icontains=value)

    # JSON lists are matched on their text so the filter works on SQLite and PostgreSQL alike.
    def filter_change_type(self, queryset, name, value):
        return queryset.filter(Q(change_types=[]) | Q(change_types__icontains=f'"{value}"'))

    def filter_touches(self, queryset, name, value):
        return queryset.filter(touches__icontains=f'"{value}"')

    def filter_group(self, queryset, name, value):
        return queryset.filter(approvers__icontains=f'"{value}"')


class PolicyVersionFilterSet(django_filters.FilterSet):
    created_by = django_filters.CharFilter(field_name="created_by__username")

    class Meta:
        model = PolicyVersion
        fields = ["created_by"]
