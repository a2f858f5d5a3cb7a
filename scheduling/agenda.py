"""What the release calendar shows for a period: one list of items, shared by the calendar page
and the iCalendar feed.

Items: releases by their planned window, deployments (started to finished, per environment and
region), calendar-window occurrences (with their policy), regional go-live dates and
vulnerability patch deadlines. Each source is one query (windows: one plus prefetches), so the
page runs a bounded number of queries whatever the amount of data; each source is capped at
``LIMIT`` items and the agenda says when it was cut.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q
from django.urls import NoReverseMatch, reverse

from releases.choices import ReleaseState
from releases.models import Deployment, Release, ReleaseService
from scheduling.choices import VulnerabilityStatus, WindowKind
from scheduling.models import GoLiveRule, Vulnerability
from scheduling.windows import Scope, policy_text, windows_between

LIMIT = 1000
# A deployment still running is drawn up to "now" but at most this long.
RUNNING_SPAN = timedelta(hours=2)

KIND_LABELS = {
    "release": "Release",
    "deployment": "Deployment",
    WindowKind.FREEZE: "Freeze",
    WindowKind.BLACKOUT: "Blackout",
    WindowKind.MAINTENANCE: "Maintenance",
    WindowKind.RELEASE_WINDOW: "Release window",
    "golive": "Go-live",
    "patch": "Patch deadline",
}


@dataclass
class Item:
    kind: str  # release, deployment, golive, patch, or a window kind
    title: str
    start: datetime
    end: datetime | None  # None: a moment (a deadline, an earliest go-live)
    url: str
    detail: str = ""
    uid: str = ""
    badge: str = ""  # a short status shown next to the title

    @property
    def label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def css(self) -> str:
        return f"cal-{self.kind.replace('_', '-')}"

    @property
    def is_moment(self) -> bool:
        return self.end is None

    def overlaps(self, since: datetime, until: datetime) -> bool:
        if self.end is None:
            return since <= self.start < until
        return self.start < until and self.end > since


@dataclass
class Agenda:
    since: datetime
    until: datetime
    items: list[Item] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)  # sources cut at LIMIT

    def on(self, since: datetime, until: datetime) -> list[Item]:
        return [i for i in self.items if i.overlaps(since, until)]


def _url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # a page another part of the app has not built yet
        return ""


def _services_filter(team=None, service=None) -> Q:
    """Releases shipping the service, or any service of the team."""
    links = ReleaseService.objects.filter(release_id=OuterRef("pk"))
    q = Q()
    if service is not None:
        q &= Q(Exists(links.filter(service=service)))
    if team is not None:
        q &= Q(Exists(links.filter(service__team=team)))
    return q


def _capped(agenda: Agenda, source: str, rows: list) -> list:
    if len(rows) > LIMIT:
        agenda.truncated.append(source)
        return rows[:LIMIT]
    return rows


def release_items(agenda: Agenda, team=None, service=None) -> None:
    since, until = agenda.since, agenda.until
    rows = (
        Release.objects.filter(planned_start__lt=until)
        .filter(Q(planned_end__gt=since) | Q(planned_end__isnull=True, planned_start__gte=since))
        .exclude(state__in=[ReleaseState.CANCELLED, ReleaseState.REJECTED])
        .filter(_services_filter(team, service))
        .order_by("planned_start", "pk")
        .only("key", "name", "version", "state", "change_type", "planned_start", "planned_end")
    )
    for r in _capped(agenda, "releases", list(rows[: LIMIT + 1])):
        agenda.items.append(
            Item(
                "release",
                f"{r.key} {r.name}",
                r.planned_start,
                r.planned_end or r.planned_start + timedelta(hours=1),
                r.get_absolute_url(),
                f"{r.get_change_type_display()} change, {r.get_state_display().lower()}; "
                f"version {r.version}.",
                f"release-{r.key}",
                r.get_state_display(),
            )
        )


def deployment_items(
    agenda: Agenda, now: datetime, team=None, service=None, environment=None, region=None
) -> None:
    since, until = agenda.since, agenda.until
    rows = (
        Deployment.objects.filter(started_at__lt=until)
        .filter(
            Q(finished_at__gt=since)
            | Q(finished_at__isnull=True, started_at__gte=since - RUNNING_SPAN)
        )
        .select_related("release", "environment")
        .order_by("started_at", "pk")
    )
    if team is not None or service is not None:
        rows = rows.filter(
            release__in=Release.objects.filter(_services_filter(team, service)).values("pk")
        )
    if environment is not None:
        rows = rows.filter(environment=environment)
    if region is not None:
        rows = rows.filter(region=region.code)
    for d in _capped(agenda, "deployments", list(rows[: LIMIT + 1])):
        end = d.finished_at or max(
            d.started_at + timedelta(minutes=30), min(now, d.started_at + RUNNING_SPAN)
        )
        where = d.environment.name + (f" ({d.region})" if d.region else "")
        agenda.items.append(
            Item(
                "deployment",
                f"{d.release.key} → {where}",
                d.started_at,
                end,
                d.get_absolute_url(),
                f"{d.release.name}: {d.get_status_display().lower()} deployment to {where}.",
                f"deployment-{d.pk}",
                d.get_status_display(),
            )
        )


def window_items(agenda: Agenda, scope: Scope) -> None:
    occurrences = windows_between(agenda.since, agenda.until, scope, prefetch=())
    for occ in _capped(agenda, "windows", occurrences):
        w = occ.window
        hardness = "soft" if w.hardness == "soft" else ""
        agenda.items.append(
            Item(
                w.kind,
                w.name,
                occ.start,
                occ.end,
                w.get_absolute_url(),
                policy_text(w) + (f" {w.reason}" if w.reason else ""),
                f"window-{w.pk}-{occ.start:%Y%m%dT%H%M%SZ}",
                hardness,
            )
        )


def golive_items(agenda: Agenda, team=None, service=None, region=None) -> None:
    rows = (
        GoLiveRule.objects.filter(earliest_at__gte=agenda.since, earliest_at__lt=agenda.until)
        .select_related("region", "release", "service")
        .order_by("earliest_at", "pk")
    )
    if region is not None:
        rows = rows.filter(region=region)
    if service is not None:
        rows = rows.filter(
            Q(service=service)
            | Q(release__in=Release.objects.filter(_services_filter(None, service)).values("pk"))
        )
    if team is not None:
        rows = rows.filter(
            Q(service__team=team)
            | Q(release__in=Release.objects.filter(_services_filter(team, None)).values("pk"))
        )
    for rule in _capped(agenda, "go-live rules", list(rows[: LIMIT + 1])):
        target = rule.release.key if rule.release_id else rule.service.name
        agenda.items.append(
            Item(
                "golive",
                f"{target} may go live in {rule.region.name}",
                rule.earliest_at,
                None,
                rule.region.get_absolute_url(),
                f"Earliest legal go-live: {rule.legal_basis}",
                f"golive-{rule.pk}",
            )
        )


def patch_items(agenda: Agenda, team=None, service=None) -> None:
    rows = Vulnerability.objects.filter(
        due_at__gte=agenda.since,
        due_at__lt=agenda.until,
        status__in=[VulnerabilityStatus.OPEN, VulnerabilityStatus.PATCHING],
    ).order_by("due_at", "pk")
    if service is not None:
        rows = rows.filter(services=service)
    if team is not None:
        rows = rows.filter(services__team=team)
    if service is not None or team is not None:
        rows = rows.distinct()
    for v in _capped(agenda, "patch deadlines", list(rows[: LIMIT + 1])):
        agenda.items.append(
            Item(
                "patch",
                f"{v.cve_id} patch due",
                v.due_at,
                None,
                _url("vulnerability_detail", v.pk),
                f"{v.get_severity_display()} (CVSS {v.cvss}): {v.title}. "
                f"Status: {v.get_status_display().lower()}.",
                f"patch-{v.pk}",
                v.get_severity_display(),
            )
        )


def build(
    since: datetime,
    until: datetime,
    now: datetime,
    *,
    team=None,
    service=None,
    environment=None,
    region=None,
) -> Agenda:
    """Everything on the calendar in [since, until) for the filters (None = any)."""
    agenda = Agenda(since, until)
    release_items(agenda, team, service)
    deployment_items(agenda, now, team, service, environment, region)
    window_items(
        agenda,
        Scope.for_filters(team=team, service=service, environment=environment, region=region),
    )
    golive_items(agenda, team, service, region)
    patch_items(agenda, team, service)
    agenda.items.sort(key=lambda i: (i.start, i.kind, i.title))
    return agenda
