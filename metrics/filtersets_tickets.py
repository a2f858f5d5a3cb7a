"""Filters for support tickets, shared by the ticket list page and ``/api/v1/support-tickets/``."""

import django_filters

from metrics.models import SupportTicket, TicketClassification


class SupportTicketFilterSet(django_filters.FilterSet):
    service = django_filters.CharFilter(
        field_name="service__slug", label="Service", help_text="Service slug."
    )
    classification = django_filters.ChoiceFilter(
        choices=TicketClassification.choices, label="Classification"
    )
    release = django_filters.CharFilter(
        field_name="attributed_release__key",
        label="Release",
        help_text="Key of the release the ticket is attributed to.",
    )
    since = django_filters.DateFilter(
        field_name="opened_at",
        lookup_expr="date__gte",
        label="Opened from",
        help_text="Date (UTC), inclusive.",
    )
    until = django_filters.DateFilter(
        field_name="opened_at",
        lookup_expr="date__lt",
        label="Opened before",
        help_text="Date (UTC), exclusive.",
    )
    overridden = django_filters.BooleanFilter(
        field_name="overridden_by", lookup_expr="isnull", exclude=True, label="Overridden"
    )

    class Meta:
        model = SupportTicket
        fields = [
            "service",
            "classification",
            "release",
            "since",
            "until",
            "overridden",
        ]
