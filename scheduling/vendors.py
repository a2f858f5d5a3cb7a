"""Vendor deliverables and audit timelines: a late vendor re-plans the release (curriculum 2.3).

``mark_late`` moves a deliverable's expected date, shifts the release's plan so
it starts no earlier than the new date plus the deliverable's buffer (keeping
its duration, at the next free slot of ``scheduling.schedule_check``), and
flags a business or compliance (audit) deadline the new plan misses; the
release owner is told once per deliverable and date. ``mark_delivered``
records the delivery. Every date change keeps its reason in history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from releasemgr.decisions import DomainError, NotPermitted, Reason
from releasemgr.notifications import notify
from scheduling import schedule_check
from scheduling.models import VendorDeliverable
from scheduling.schedule_check import DEFAULT_DURATION, fmt, history_reason, ready_at

PERMISSION = "scheduling.change_vendordeliverable"
REASON_MAX = 80  # what a person types; prefixed, it still fits the history's 100 characters


@dataclass
class VendorResult:
    """What marking a deliverable did: the re-plan (if any) and the deadlines it misses."""

    deliverable: VendorDeliverable
    release: object
    changed: bool = False
    replanned: bool = False
    old_start: datetime | None = None
    old_end: datetime | None = None
    reasons: list[Reason] = field(default_factory=list)
    notified: bool = False

    @property
    def missed(self) -> list[Reason]:
        return [r for r in self.reasons if not r.passed]


def _check_user(user) -> None:
    if not user.has_perm(PERMISSION):
        raise NotPermitted(f"{user.get_username()} may not change vendor deliverables.")


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError(
            {"reason": "Say why the delivery is late (it goes into the history)."}
        )
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX} characters."})
    return reason


def deadline_reasons(release, start: datetime | None, end: datetime | None) -> list[Reason]:
    """Failed ``deadline_missed`` / ``compliance_deadline_missed`` for a plan ending at ``end``."""
    moment = end or start
    out = []
    if moment is None:
        return out
    for code, value, label in (
        ("deadline_missed", release.deadline, "business deadline"),
        ("compliance_deadline_missed", release.compliance_deadline, "compliance deadline"),
    ):
        if value is not None and moment > value:
            out.append(
                Reason(
                    code,
                    False,
                    f"{release.key} now ends {fmt(moment)}, after its {label} {fmt(value)}.",
                    {"deadline": value.isoformat(), "planned_end": moment.isoformat()},
                )
            )
    return out


def mark_late(
    deliverable: VendorDeliverable, user, new_expected_at: datetime, reason: str
) -> VendorResult:
    """The vendor will deliver at ``new_expected_at``: move the date and re-plan the release.

    Idempotent: marking the same deliverable late to the same date again changes nothing
    and notifies nobody a second time. Bad input raises ``ValidationError`` and writes nothing.
    """
    from releases.models import Release

    _check_user(user)
    reason = _clean_reason(reason)
    if new_expected_at is None:
        raise ValidationError({"expected_at": "Give the new expected date."})
    with transaction.atomic():
        item = VendorDeliverable.objects.select_for_update().get(pk=deliverable.pk)
        release = Release.objects.select_for_update().get(pk=item.release_id)
        if item.delivered_at is not None:
            raise DomainError(
                f"'{item.description}' was delivered {fmt(item.delivered_at)}; it cannot be late.",
                [Reason("delivered", False, "Already delivered.", {"deliverable": item.pk})],
            )
        if new_expected_at < item.expected_at:
            raise ValidationError(
                {
                    "expected_at": f"A late delivery comes after the current expected date "
                    f"{fmt(item.expected_at)}; to bring it forward, edit the deliverable."
                }
            )
        if new_expected_at < timezone.now() - timedelta(minutes=1):
            raise ValidationError(
                {"expected_at": "The new expected date is in the past; give a future date."}
            )
        result = VendorResult(
            item, release, old_start=release.planned_start, old_end=release.planned_end
        )
        if new_expected_at != item.expected_at:
            old = item.expected_at
            item.expected_at = new_expected_at
            item.save_with_reason(history_reason(f"late: {reason} (was {fmt(old)})"), user=user)
            result.changed = True
        _replan(result, user, reason)
        result.reasons = deadline_reasons(release, release.planned_start, release.planned_end)
        if result.changed or result.replanned or result.reasons:
            result.notified = _notify(result, reason)
    deliverable.expected_at = item.expected_at
    return result


def _replan(result: VendorResult, user, reason: str) -> None:
    """Start no earlier than the deliverable's new ready time, at the next free slot."""
    release, item = result.release, result.deliverable
    start, end = release.planned_start, release.planned_end
    ready = ready_at(item)
    if start is None or start >= ready:
        return
    if release.state not in schedule_check.REPLANNABLE_STATES:
        return
    duration = (end - start) if end else DEFAULT_DURATION
    slot = schedule_check.next_free_slot(release, duration, after=ready)
    new_start = slot or ready
    release.planned_start, release.planned_end = new_start, new_start + duration
    release.save_with_reason(
        history_reason(f"re-planned: {item.vendor} late ({reason})"), user=user
    )
    result.replanned = True


def _notify(result: VendorResult, reason: str) -> bool:
    """Tell the release owner once per deliverable and new date. True if a new notice was sent."""
    release, item = result.release, result.deliverable
    owner = release.owner or release.author
    if owner is None:
        return False
    missed = result.missed
    if any(r.code == "compliance_deadline_missed" for r in missed):
        kind = "compliance_deadline_missed"
    elif missed:
        kind = "deadline_missed"
    else:
        kind = "vendor_late"
    moved = f" {release.key} moves to {fmt(release.planned_start)}." if result.replanned else ""
    message = (
        f"{item.vendor} is late with '{item.description}' (now expected "
        f"{fmt(item.expected_at)}: {reason}).{moved}" + "".join(f" {r.message}" for r in missed)
    )
    key = f"vendor-late:{item.pk}:{item.expected_at.isoformat()}"
    # Through notify(): once per key (races included), and on the owner's email/chat channels.
    _notification, created = notify(
        owner, kind, message, link=release.get_absolute_url() + "#schedule", dedupe_key=key
    )
    return created


def mark_delivered(
    deliverable: VendorDeliverable, user, delivered_at: datetime | None = None, note: str = ""
) -> VendorResult:
    """Record the delivery (default: now). Idempotent: a delivered deliverable stays as it is."""
    _check_user(user)
    now = timezone.now()
    delivered_at = delivered_at or now
    if delivered_at > now + timedelta(minutes=1):
        raise ValidationError({"delivered_at": "A delivery cannot be in the future."})
    note = " ".join((note or "").split())
    if len(note) > REASON_MAX:
        raise ValidationError({"note": f"Keep the note under {REASON_MAX} characters."})
    with transaction.atomic():
        item = (
            VendorDeliverable.objects.select_for_update()
            .select_related("release")
            .get(pk=deliverable.pk)
        )
        result = VendorResult(item, item.release)
        if item.delivered_at is None:
            item.delivered_at = delivered_at
            item.save_with_reason(
                history_reason(f"delivered{': ' + note if note else ''}"), user=user
            )
            result.changed = True
    deliverable.delivered_at = item.delivered_at
    return result
