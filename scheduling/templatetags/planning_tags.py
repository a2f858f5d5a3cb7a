"""The release page's planning panel (Schedule tab): the plan's conflicts and the next free
slot, "Check a date", deadlines, the regional rollout plan and the vendor deliverables."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone

from scheduling import golive, schedule_check
from scheduling.forms_planning import ScheduleCheckForm
from scheduling.models import VendorDeliverable

register = template.Library()


@register.filter
def in_zone(value: datetime | None, zone: str = "UTC") -> str:
    """``2025-03-04 10:00 CET``: a moment on the clock of ``zone``."""
    if value is None:
        return "—"
    try:
        local = value.astimezone(ZoneInfo(zone or "UTC"))
    except (KeyError, ValueError):
        local = value.astimezone(ZoneInfo("UTC"))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


@register.filter
def utc(value: datetime | None) -> str:
    return schedule_check.fmt(value)


@register.filter
def severity(reason) -> str:
    data = reason.data if hasattr(reason, "data") else reason.get("data", {})
    return data.get("severity", schedule_check.HARD)


@register.filter
def conflict_kind(reason) -> str:
    """How the UI shows a conflict: hard, audit (a compliance deadline), deadline or warning."""
    if getattr(reason, "code", "") == "compliance_deadline_missed":
        return "audit"
    return severity(reason)


def _last_reasons(items: list[VendorDeliverable]) -> dict[int, object]:
    """The latest change of each deliverable (one query), to show the last "why".

    Creation rows are left out: "added" tells the reader nothing.
    """
    latest: dict[int, object] = {}
    if not items:
        return latest
    rows = (
        VendorDeliverable.history.filter(id__in=[i.pk for i in items])
        .exclude(history_change_reason__isnull=True)
        .exclude(history_change_reason="")
        .exclude(history_type="+")
        .select_related("history_user")
        .order_by("id", "-history_date", "-history_id")
    )
    for row in rows:
        latest.setdefault(row.id, row)
    return latest


@register.inclusion_tag("scheduling/panels/planning.html", takes_context=True)
def planning_panel(context, release):
    """Everything the planning panel shows, in a bounded number of queries."""
    request = context["request"]
    user = request.user
    now = timezone.now()
    replannable = release.state in schedule_check.REPLANNABLE_STATES
    proposal = schedule_check.propose(release) if replannable else None
    items = list(VendorDeliverable.objects.filter(release=release).order_by("expected_at", "pk"))
    last = _last_reasons(items)
    for item in items:
        item.ready = schedule_check.ready_at(item)
        item.overdue = item.delivered_at is None and item.expected_at < now
        item.holds_back = bool(
            release.planned_start and item.ready > release.planned_start and replannable
        )
        item.last_change = last.get(item.pk)
    rollout = golive.rollout_plan(release)
    default_start = (proposal.slot_start if proposal else None) or release.planned_start
    default_end = (proposal.slot_end if proposal else None) or release.planned_end
    check_form = ScheduleCheckForm(
        initial={"start": default_start, "end": default_end}, auto_id="check_%s"
    )
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "release": release,
        "now": now,
        "replannable": replannable,
        "proposal": proposal,
        "deliverables": items,
        "rollout": rollout,
        "check_form": check_form,
        "can_apply": user.has_perm("releases.change_release") and replannable,
        "can_edit_deadlines": user.has_perm("releases.change_release"),
        "can_add_deliverable": user.has_perm("scheduling.add_vendordeliverable"),
        "can_change_deliverable": user.has_perm("scheduling.change_vendordeliverable"),
        "can_delete_deliverable": user.has_perm("scheduling.delete_vendordeliverable"),
        "can_add_rule": user.has_perm("scheduling.add_goliverule"),
    }
