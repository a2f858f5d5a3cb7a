"""The CAB line of a release's Approvals pane: the agenda items the release is on."""

from django import template

from governance.models import AgendaItem

register = template.Library()


@register.inclusion_tag("governance/cab_release_line.html")
def cab_agenda_line(release):
    items = list(
        AgendaItem.objects.filter(release=release)
        .select_related("meeting")
        .order_by("-meeting__scheduled_at")[:5]
    )
    return {"release": release, "items": items}
