"""The ticket triage panel on the release's Stabilisation tab: tickets attributed to it."""

from django import template
from django.db.models import Count

from metrics.models import SupportTicket

register = template.Library()

LISTED = 10


@register.inclusion_tag("metrics/ticket_panel.html", takes_context=True)
def ticket_panel(context, release):
    """Tickets attributed to this release (release-related, and unclear ones naming it as the
    candidate), newest first. One query; a second only when there are more than fit."""
    tickets = SupportTicket.objects.filter(attributed_release=release)
    shown = list(tickets.select_related("service")[: LISTED + 1])
    if len(shown) > LISTED:
        shown = shown[:LISTED]
        totals = {
            row["classification"]: row["n"]
            for row in tickets.order_by().values("classification").annotate(n=Count("pk"))
        }
    else:
        totals = {}
        for ticket in shown:
            totals[ticket.classification] = totals.get(ticket.classification, 0) + 1
    return {
        "release": release,
        "tickets": shown,
        "totals": totals,
        "total": sum(totals.values()),
        "request": context["request"],
    }
