"""The periodic freeze check: tell people what the calendar now means for them.

Run every few minutes by Celery beat (``scheduling.tasks.freeze_check``), it

(a) announces blocking windows (freezes, blackouts) that opened or closed
    since the last runs to the owners of releases whose services they cover
    and to the release managers;
(b) warns the owner of each submitted or approved release planned in the
    future that a hard blocking window (perhaps one added since the release
    was planned) covers its planned production deployment;
(c) reminds the owners of affected services and the compliance officers of
    at-risk and overdue security patches.

It is idempotent: every notification has a dedupe key (window + occurrence
start + opened/closed; release + window occurrence; vulnerability + state +
due date), so running twice, or on two workers at once, notifies once. Each
run looks back a fixed period (twice the beat interval), so a late or missed
run still sees what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils import timezone

from releasemgr.decisions import Reason
from releasemgr.notifications import notify, notify_many
from releasemgr.roles import COMPLIANCE_OFFICER, RELEASE_MANAGER
from releases.choices import ReleaseState
from releases.models import Release, ReleaseService, Service
from scheduling import patching
from scheduling.choices import BLOCKING_KINDS, Hardness
from scheduling.freeze_exceptions import active_exceptions
from scheduling.models import Environment, FreezeWindow
from scheduling.windows import Occurrence, Scope, in_scope, windows_between

JOB_NAME = "freeze_check"

# Releases a window opening or closing matters to (they may still deploy).
AFFECTED_STATES = (ReleaseState.SUBMITTED, ReleaseState.APPROVED, ReleaseState.DEPLOYING)
# Releases whose planned deployment is checked against the calendar.
PLANNED_STATES = (ReleaseState.SUBMITTED, ReleaseState.APPROVED)


def interval() -> timedelta:
    return timedelta(seconds=getattr(settings, "FREEZE_CHECK_SECONDS", 300))


def lookback() -> timedelta:
    """How far back a run looks for windows that opened or closed: two beat intervals."""
    return 2 * interval()


@dataclass
class WatchResult:
    windows_opened: int = 0
    windows_closed: int = 0
    releases_warned: int = 0
    patch_reminders: int = 0
    notifications: int = 0
    reasons: list[Reason] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"{self.notifications} notification(s): {self.windows_opened} window(s) opened, "
            f"{self.windows_closed} closed; {self.releases_warned} planned release(s) blocked; "
            f"{self.patch_reminders} patch reminder(s)"
        )


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _users_in(role: str) -> list:
    return list(get_user_model().objects.filter(groups__name=role, is_active=True).distinct())


def _scope_text(window: FreezeWindow) -> str:
    services = ", ".join(s.name for s in window.services.all()) or "all services"
    environments = ", ".join(e.name for e in window.environments.all()) or "all environments"
    return f"{services} in {environments}"


def _covers_services(window: FreezeWindow, release: Release) -> bool:
    """Does the window cover any of the release's services, in some environment and region?"""
    services = [link.service for link in release.release_services.all()]
    environment_ids = [e.pk for e in window.environments.all()]
    scope = Scope.of(services, None)
    if environment_ids:
        # A window limited to environments still covers these services there.
        scope = Scope(scope.service_ids, scope.team_ids, environment_ids[0], None)
    return in_scope(window, scope)


# --- (a) windows opening and closing --------------------------------------------------------


def _window_message(occ: Occurrence, change: str) -> str:
    window = occ.window
    label = window.get_kind_display().split(" (")[0]
    if change == "opened":
        effect = (
            "deployments in its scope are blocked"
            if window.hardness == Hardness.HARD
            else "deployments in its scope need a stated reason"
        )
        return (
            f"{label} '{window.name}' is now in force until {_fmt(occ.end)} "
            f"({_scope_text(window)}): {effect}."
        )
    return f"{label} '{window.name}' was lifted at {_fmt(occ.end)} ({_scope_text(window)})."


def announce_window_changes(now: datetime, result: WatchResult) -> None:
    since = now - lookback()
    changes = []
    for occ in windows_between(since, now + timedelta(seconds=1), kinds=BLOCKING_KINDS):
        if since <= occ.start <= now:
            changes.append((occ, "opened"))
        if since <= occ.end <= now:
            changes.append((occ, "closed"))
    if not changes:
        return
    releases = list(
        Release.objects.filter(state__in=AFFECTED_STATES)
        .select_related("owner", "author")
        .prefetch_related(
            Prefetch("release_services", queryset=ReleaseService.objects.select_related("service"))
        )
    )
    managers = _users_in(RELEASE_MANAGER)
    for occ, change in changes:
        recipients: dict[int, tuple] = {u.pk: (u, []) for u in managers}
        for release in releases:
            if not _covers_services(occ.window, release):
                continue
            owner = release.owner or release.author
            recipients.setdefault(owner.pk, (owner, []))[1].append(release.key)
        message = _window_message(occ, change)
        key = f"window:{occ.window.pk}:{occ.start.isoformat()}:{change}"
        announced = False
        for user, keys in recipients.values():
            if not user.is_active:
                continue
            text = message
            if keys:
                text += f" Your release(s) affected: {', '.join(sorted(keys))}."
            _, created = notify(
                user, f"window_{change}", text, occ.window.get_absolute_url(), dedupe_key=key
            )
            result.notifications += created
            announced = announced or created
        # Counted once announced, so a second run reports nothing new.
        if announced and change == "opened":
            result.windows_opened += 1
        elif announced:
            result.windows_closed += 1


# --- (b) planned releases a hard window now blocks ------------------------------------------


def blocking_reasons(release: Release, environments: list, services: list) -> list[Reason]:
    """Hard blocking windows that cover the release's planned production deployment."""
    start = release.planned_start
    end = release.planned_end or start + timedelta(minutes=1)
    exceptions = active_exceptions(release, start)
    reasons = []
    seen = set()
    for environment in environments:
        scope = Scope.of(services, environment)
        for occ in windows_between(start, end, scope, BLOCKING_KINDS):
            window = occ.window
            if window.hardness != Hardness.HARD or (window.pk, occ.start) in seen:
                continue
            if release.change_type in (window.allowed_change_types or []):
                continue
            if window.pk in exceptions:
                continue
            seen.add((window.pk, occ.start))
            code = "blackout_window" if window.kind == "blackout" else "freeze_window"
            where = environment.name if environment else "production"
            why = f" Reason: {window.reason.strip()}" if window.reason.strip() else ""
            reasons.append(
                Reason(
                    code,
                    False,
                    f"{window.get_kind_display().split(' (')[0]} '{window.name}' "
                    f"({_fmt(occ.start)} – {_fmt(occ.end)}) covers the planned deployment of "
                    f"{release.key} to {where} ({_fmt(start)} – {_fmt(end)}).{why} "
                    "Re-plan the release or request a freeze exception.",
                    {"window": window.pk, "occurrence_start": occ.start.isoformat()},
                )
            )
    return reasons


def warn_blocked_releases(now: datetime, result: WatchResult) -> None:
    releases = list(
        Release.objects.filter(state__in=PLANNED_STATES, planned_start__gt=now)
        .select_related("owner", "author")
        .prefetch_related(
            Prefetch("release_services", queryset=ReleaseService.objects.select_related("service"))
        )
        .order_by("planned_start", "pk")
    )
    if not releases:
        return
    environments = list(Environment.objects.filter(is_production=True).order_by("order")) or [None]
    for release in releases:
        services = [link.service for link in release.release_services.all()]
        reasons = blocking_reasons(release, environments, services)
        owner = release.owner or release.author
        warned = False
        for reason in reasons:
            key = f"blocked:{release.pk}:{reason.data['window']}:{reason.data['occurrence_start']}"
            _, created = notify(
                owner, "release_blocked", reason.message, release.get_absolute_url(), key
            )
            result.notifications += created
            warned = warned or created
        result.releases_warned += warned
        result.reasons.extend(reasons)


# --- (c) patch deadlines --------------------------------------------------------------------


def _patch_message(vulnerability, state: str, now: datetime) -> str:
    services = ", ".join(s.name for s in vulnerability.services.all())
    head = (
        f"{vulnerability.cve_id} ({vulnerability.get_severity_display().lower()}, "
        f"CVSS {vulnerability.cvss}) in {services}"
    )
    if state == patching.OVERDUE:
        text = f"{head} is overdue: the patch was due {_fmt(vulnerability.due_at)}."
    else:
        hours = max(1, int((vulnerability.due_at - now).total_seconds() // 3600))
        text = f"{head} is at risk: the patch is due {_fmt(vulnerability.due_at)} (in {hours} h)."
    if vulnerability.patch_release is not None:
        release = vulnerability.patch_release
        text += f" Patch release {release.key} is {release.get_state_display().lower()}."
    else:
        text += " No patch release is planned yet."
    return text


def remind_patch_deadlines(now: datetime, result: WatchResult) -> None:
    known = patching.policies()
    vulnerabilities = (
        patching.overdue_or_at_risk(now, known)
        .prefetch_related(
            Prefetch(
                "services",
                queryset=Service.objects.select_related("team").prefetch_related(
                    "owners", "team__members"
                ),
            ),
        )
        .select_related("patch_release")
    )
    officers = None
    for vulnerability in vulnerabilities:
        if officers is None:
            officers = _users_in(COMPLIANCE_OFFICER)
        state = patching.status_of(vulnerability, now, known)
        recipients = {u.pk: u for u in officers}
        for service in vulnerability.services.all():
            # Owners of the service; its team when nobody is named as owner.
            people = list(service.owners.all()) or list(service.team.members.all())
            recipients.update((u.pk, u) for u in people)
        key = f"patch:{vulnerability.pk}:{state}:{vulnerability.due_at:%Y%m%dT%H%M}"
        created = notify_many(
            recipients.values(),
            f"patch_{state}",
            _patch_message(vulnerability, state, now),
            vulnerability.get_absolute_url(),
            key,
        )
        result.notifications += created
        result.patch_reminders += bool(created)


def run(now: datetime | None = None) -> WatchResult:
    """One freeze check: (a), (b) and (c). Safe to run any number of times."""
    now = now or timezone.now()
    result = WatchResult()
    announce_window_changes(now, result)
    warn_blocked_releases(now, result)
    remind_patch_deadlines(now, result)
    return result
