"""Security patch cycles: how severe a vulnerability is, when it must be patched, how it stands.

A vulnerability's severity follows its CVSS score; its due date is its
discovery date plus the patch SLA of that severity (``PatchSlaPolicy``,
configurable per severity). The due date is computed when the CVSS score or
the discovery date is set or changes (``apply_sla``, called from
``Vulnerability.save``, so forms, the API and scripts all go through it); a
later change of the policy applies to computations made after it and leaves
deadlines already set alone.

A vulnerability that is neither patched nor accepted is

- *overdue* once its due date has passed,
- *at risk* once less than ``1 - at_risk_fraction`` of its severity's SLA
  remains (with the default 0.75: the last quarter of the SLA),
- *on track* otherwise.

``create_patch_release`` turns a vulnerability into a draft security-patch
release for its services, planned before the due date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from releasemgr.decisions import DomainError, NotPermitted
from releases.choices import ChangeType, ReleaseKind, ReleaseState, ScopeKind
from releases.models import Release, ReleaseService, ScopeItem, Service
from releases.validators import VERSION_RE
from scheduling.choices import BLOCKING_KINDS, Hardness, Severity, VulnerabilityStatus
from scheduling.models import Environment, PatchSlaPolicy, Vulnerability
from scheduling.windows import Scope, windows_between

CVE_RE = re.compile(r"^CVE-(\d{4})-(\d{4,})$")

# Statuses in which a vulnerability still needs its patch shipped.
UNRESOLVED = (VulnerabilityStatus.OPEN, VulnerabilityStatus.PATCHING)

OVERDUE, AT_RISK, ON_TRACK, DONE = "overdue", "at_risk", "on_track", "done"
# A filter value only: overdue, at risk or on track.
UNRESOLVED_STATE = "unresolved"
STATE_LABELS = {
    OVERDUE: "Overdue",
    AT_RISK: "At risk",
    ON_TRACK: "On track",
    DONE: "Done",
}

# Releases whose versions count as "released" when proposing the next patch version.
RELEASED_STATES = (ReleaseState.DEPLOYED, ReleaseState.CLOSED)

# How long a generated patch release is planned to take.
PATCH_DURATION = timedelta(hours=2)
# Plan the patch this soon at the earliest (time to build and test it) ...
MIN_LEAD = timedelta(hours=1)
# ... and no later than this after creation, however long the SLA.
MAX_LEAD = timedelta(days=3)


# --- severity and due dates -----------------------------------------------------------------


def severity_for(cvss: Decimal | float | int) -> str:
    """CVSS v3 qualitative rating: critical >= 9.0, high >= 7.0, medium >= 4.0, else low."""
    score = Decimal(str(cvss))
    if score >= Decimal("9.0"):
        return Severity.CRITICAL
    if score >= Decimal("7.0"):
        return Severity.HIGH
    if score >= Decimal("4.0"):
        return Severity.MEDIUM
    return Severity.LOW


# The SLAs a fresh installation starts with (also seeded by migration 0004).
DEFAULT_SLA_HOURS = {
    Severity.CRITICAL: 48,
    Severity.HIGH: 7 * 24,
    Severity.MEDIUM: 30 * 24,
    Severity.LOW: 90 * 24,
}


def ensure_policies() -> None:
    """Create the default SLA of any severity that has none (idempotent; never overwrites)."""
    for severity, hours in DEFAULT_SLA_HOURS.items():
        PatchSlaPolicy.objects.get_or_create(severity=severity, defaults={"hours": hours})


def policies() -> dict[str, PatchSlaPolicy]:
    """The SLA policy of each severity (one query)."""
    return {p.severity: p for p in PatchSlaPolicy.objects.all()}


def _policy(severity: str, known: dict[str, PatchSlaPolicy] | None) -> PatchSlaPolicy:
    known = known if known is not None else policies()
    try:
        return known[severity]
    except KeyError:
        raise DomainError(
            f"There is no patch SLA for {severity} vulnerabilities; "
            "set one on the patch SLA page first."
        ) from None


def due_for(
    severity: str, discovered_at: datetime, known: dict[str, PatchSlaPolicy] | None = None
) -> datetime:
    """The patch deadline of a vulnerability of ``severity`` discovered at ``discovered_at``."""
    return discovered_at + timedelta(hours=_policy(severity, known).hours)


def apply_sla(vulnerability: Vulnerability, known: dict[str, PatchSlaPolicy] | None = None):
    """Set severity and due date from the CVSS score and discovery date, when they changed.

    Called by ``Vulnerability.save``. Unchanged inputs keep the deadline that
    was set (a policy change does not move existing deadlines).
    """
    inputs = (vulnerability.cvss, vulnerability.discovered_at)
    if vulnerability.cvss is None or vulnerability.discovered_at is None:
        return
    loaded = getattr(vulnerability, "_sla_inputs", None)
    if (loaded is None or None in loaded) and vulnerability.pk and vulnerability.due_at:
        # Not loaded with the instance (built by hand, or deferred fields): ask the database.
        loaded = (
            Vulnerability.objects.filter(pk=vulnerability.pk)
            .values_list("cvss", "discovered_at")
            .first()
        )
    if loaded == inputs and vulnerability.due_at and vulnerability.severity:
        return
    vulnerability.severity = severity_for(vulnerability.cvss)
    vulnerability.due_at = due_for(vulnerability.severity, vulnerability.discovered_at, known)
    vulnerability._sla_inputs = inputs


def recompute_open(severity: str, user=None) -> int:
    """After a policy change: move the deadlines of unresolved vulnerabilities of ``severity``."""
    known = policies()
    changed = 0
    for vulnerability in Vulnerability.objects.filter(severity=severity, status__in=UNRESOLVED):
        due = due_for(severity, vulnerability.discovered_at, known)
        if due != vulnerability.due_at:
            vulnerability.due_at = due
            vulnerability.save_with_reason(
                f"Due date recomputed from the {severity} patch SLA ({known[severity].hours} h)",
                user,
            )
            changed += 1
    return changed


def check_fields(vulnerability: Vulnerability, now: datetime | None = None) -> None:
    """The rules a vulnerability record must meet (used by ``Vulnerability.clean``).

    Raises ``ValidationError`` with one message per field.
    """
    errors = {}
    cve_id = (vulnerability.cve_id or "").strip()
    match = CVE_RE.match(cve_id)
    if cve_id and not match:
        errors["cve_id"] = (
            f"“{cve_id}” is not a CVE id: write it as CVE-YYYY-NNNN "
            "(the year, then at least four digits), e.g. CVE-2024-3094."
        )
    elif match and not 1999 <= int(match.group(1)) <= 2100:
        errors["cve_id"] = f"{match.group(1)} is not a plausible CVE year (CVE ids began in 1999)."
    now = now or timezone.now()
    if vulnerability.discovered_at and vulnerability.discovered_at > now + timedelta(minutes=1):
        errors["discovered_at"] = (
            "The discovery date cannot be in the future; enter when the vulnerability "
            "became known to us."
        )
    if errors:
        raise ValidationError(errors)


# --- where a vulnerability stands -----------------------------------------------------------


def _at_risk_margin(policy: PatchSlaPolicy) -> timedelta:
    """At risk when this little time (the last part of the SLA) remains before the due date."""
    return timedelta(hours=float(policy.hours) * (1 - float(policy.at_risk_fraction)))


def status_of(
    vulnerability: Vulnerability,
    now: datetime | None = None,
    known: dict[str, PatchSlaPolicy] | None = None,
) -> str:
    """overdue / at_risk / on_track for an unresolved vulnerability; done once patched or accepted."""
    if vulnerability.status not in UNRESOLVED:
        return DONE
    now = now or timezone.now()
    if now >= vulnerability.due_at:
        return OVERDUE
    policy = (known if known is not None else policies()).get(vulnerability.severity)
    if policy is not None and vulnerability.due_at - now <= _at_risk_margin(policy):
        return AT_RISK
    return ON_TRACK


def state_q(state: str, now: datetime, known: dict[str, PatchSlaPolicy] | None = None) -> Q:
    """A filter for vulnerabilities in ``state`` (the same rule as ``status_of``, in SQL)."""
    unresolved = Q(status__in=UNRESOLVED)
    if state == DONE:
        return ~unresolved
    if state == UNRESOLVED_STATE:
        return unresolved
    if state == OVERDUE:
        return unresolved & Q(due_at__lte=now)
    known = known if known is not None else policies()
    risky = Q(pk__in=[])
    for severity, policy in known.items():
        risky |= Q(severity=severity, due_at__lte=now + _at_risk_margin(policy))
    if state == AT_RISK:
        return unresolved & Q(due_at__gt=now) & risky
    if state == ON_TRACK:
        return unresolved & Q(due_at__gt=now) & ~risky
    raise ValueError(f"Unknown patch state {state!r}")


def overdue(now: datetime | None = None) -> QuerySet[Vulnerability]:
    """Unresolved vulnerabilities past their due date, most overdue first."""
    return Vulnerability.objects.filter(state_q(OVERDUE, now or timezone.now())).order_by(
        "due_at", "pk"
    )


def at_risk(
    now: datetime | None = None, known: dict[str, PatchSlaPolicy] | None = None
) -> QuerySet[Vulnerability]:
    """Unresolved vulnerabilities in the last part of their SLA, soonest due first."""
    return Vulnerability.objects.filter(state_q(AT_RISK, now or timezone.now(), known)).order_by(
        "due_at", "pk"
    )


def overdue_or_at_risk(
    now: datetime | None = None, known: dict[str, PatchSlaPolicy] | None = None
) -> QuerySet[Vulnerability]:
    """Both lists in one, soonest due (i.e. most overdue) first: the dashboard panel."""
    now = now or timezone.now()
    return Vulnerability.objects.filter(
        state_q(OVERDUE, now) | state_q(AT_RISK, now, known)
    ).order_by("due_at", "pk")


def annotate_states(vulnerabilities, now: datetime | None = None, known=None) -> list:
    """Set ``sla_state`` and ``sla_state_label`` on each vulnerability (no queries if ``known``)."""
    now = now or timezone.now()
    known = known if known is not None else policies()
    items = list(vulnerabilities)
    for vulnerability in items:
        vulnerability.sla_state = status_of(vulnerability, now, known)
        vulnerability.sla_state_label = STATE_LABELS[vulnerability.sla_state]
    return items


# --- patch releases -------------------------------------------------------------------------


def _version_key(version: str) -> tuple:
    numbers = re.match(r"^v?(\d+(?:\.\d+)*)", version)
    parts = tuple(int(p) for p in numbers.group(1).split(".")) if numbers else ()
    # A pre-release (1.2.0-rc.1) sorts before its final version (1.2.0).
    return (*parts, *(0,) * (4 - len(parts)), 0 if "-" in version else 1)


def bump_patch(version: str) -> str:
    """The next patch version: 1.4.2 → 1.4.3, v3.1 → v3.1.1, 2.0.0-rc.1 → 2.0.1."""
    match = re.match(r"^(v?)(\d+(?:\.\d+)*)", version.strip())
    if not match:
        raise ValueError(f"{version!r} is not a version")
    prefix, numbers = match.group(1), [int(p) for p in match.group(2).split(".")]
    numbers = (numbers + [0, 0])[:3]
    numbers[2] += 1
    return prefix + ".".join(str(n) for n in numbers)


def latest_released_versions(services) -> dict[int, str]:
    """For each service, the highest version a deployed or closed release shipped (one query)."""
    rows = ReleaseService.objects.filter(
        service__in=services, release__state__in=RELEASED_STATES
    ).values_list("service_id", "version")
    latest: dict[int, str] = {}
    for service_id, version in rows:
        if service_id not in latest or _version_key(version) > _version_key(latest[service_id]):
            latest[service_id] = version
    return latest


@dataclass
class PatchPlan:
    """What ``create_patch_release`` proposes: shown in the form before anything is written."""

    services: list[Service]
    released: dict[int, str]  # service id → latest released version
    versions: dict[int, str]  # service id → proposed patch version ("" = ask the user)
    release_version: str
    change_type: str
    planned_start: datetime
    planned_end: datetime
    notes: list[str]
    due_at: datetime


def _freezes_hit(scope: Scope, start: datetime, end: datetime, change_type: str) -> list:
    """Hard freezes and blackouts over [start, end) that this change type may not ship in."""
    return [
        occ
        for occ in windows_between(start, end, scope, BLOCKING_KINDS)
        if occ.window.hardness == Hardness.HARD
        and change_type not in (occ.window.allowed_change_types or [])
    ]


def _plan_window(vulnerability: Vulnerability, services, now: datetime, notes: list[str]):
    """A slot before the due date, moved past hard freezes when that still meets the deadline."""
    left = vulnerability.due_at - now
    if left <= MIN_LEAD + PATCH_DURATION:
        start = now + MIN_LEAD
        if left <= timedelta(0):
            notes.append("The patch is already overdue: it is planned as soon as possible.")
        else:
            notes.append("Too little time is left to plan comfortably: as soon as possible.")
    else:
        start = now + min(max(MIN_LEAD, (left - PATCH_DURATION) / 2), MAX_LEAD)
    start = start.replace(second=0, microsecond=0)
    if start.minute % 15:
        start += timedelta(minutes=15 - start.minute % 15)
    production = Environment.objects.filter(is_production=True).order_by("order").first()
    if production is not None:
        scope = Scope.of(services, production)
        change_type = change_type_for(vulnerability)
        moved = start
        hits = _freezes_hit(scope, moved, moved + PATCH_DURATION, change_type)
        names = set()
        # Follow back-to-back freezes; give up past the due date.
        for _ in range(20):
            if not hits:
                break
            names.update(f"'{o.window.name}'" for o in hits)
            moved = max(o.end for o in hits)
            if moved + PATCH_DURATION > vulnerability.due_at:
                break
            hits = _freezes_hit(scope, moved, moved + PATCH_DURATION, change_type)
        if names:
            if not hits and moved + PATCH_DURATION <= vulnerability.due_at:
                notes.append(
                    f"Planned for {moved:%Y-%m-%d %H:%M} UTC, after {', '.join(sorted(names))} "
                    f"in {production.name}."
                )
                start = moved
            else:
                notes.append(
                    f"{', '.join(sorted(names))} covers {production.name} until after the due "
                    "date: request an expedited freeze exception for this patch."
                )
    end = start + PATCH_DURATION
    if end > vulnerability.due_at > start:
        end = vulnerability.due_at
    return start, end


def plan_patch(vulnerability: Vulnerability, now: datetime | None = None) -> PatchPlan:
    """Propose versions, change type and dates for a patch release of ``vulnerability``."""
    now = now or timezone.now()
    services = list(vulnerability.services.order_by("name"))
    released = latest_released_versions(services)
    versions = {s.pk: bump_patch(released[s.pk]) if s.pk in released else "" for s in services}
    notes: list[str] = []
    missing = [s.name for s in services if not versions[s.pk]]
    if missing:
        notes.append(
            f"No released version is known for {', '.join(missing)}: enter the patch version."
        )
    proposed = [v for v in versions.values() if v]
    release_version = proposed[0] if len(set(proposed)) == 1 and not missing else ""
    if not release_version and proposed:
        release_version = max(proposed, key=_version_key)
    start, end = _plan_window(vulnerability, services, now, notes)
    return PatchPlan(
        services=services,
        released=released,
        versions=versions,
        release_version=release_version,
        change_type=change_type_for(vulnerability),
        planned_start=start,
        planned_end=end,
        notes=notes,
        due_at=vulnerability.due_at,
    )


def change_type_for(vulnerability: Vulnerability) -> str:
    """Critical vulnerabilities are patched as emergency changes; the others as normal changes."""
    if vulnerability.severity == Severity.CRITICAL:
        return ChangeType.EMERGENCY
    return ChangeType.NORMAL


def _why_change_type(vulnerability: Vulnerability, known) -> str:
    hours = _policy(vulnerability.severity, known).hours
    if vulnerability.severity == Severity.CRITICAL:
        return (
            f"Emergency change: a critical vulnerability (CVSS {vulnerability.cvss}) must be "
            f"patched within {hours} h, sooner than the normal approval cycle allows."
        )
    return (
        f"Normal change: a {vulnerability.severity} vulnerability (CVSS {vulnerability.cvss}) "
        f"has a {hours} h patch SLA, time enough for the normal approval path."
    )


def _existing_patch(vulnerability: Vulnerability) -> Release | None:
    release = vulnerability.patch_release
    if release is not None and release.state not in (ReleaseState.CANCELLED, ReleaseState.REJECTED):
        return release
    return None


def may_create_patch_release(user) -> bool:
    return user.has_perm("releases.add_release") and user.has_perm(
        "scheduling.change_vulnerability"
    )


def create_patch_release(
    vulnerability: Vulnerability,
    user,
    versions: dict[int, str] | None = None,
    release_version: str | None = None,
    planned_start: datetime | None = None,
    planned_end: datetime | None = None,
    now: datetime | None = None,
) -> Release:
    """Create a draft security-patch release shipping each affected service's next patch version.

    ``versions`` (service id → version) overrides the proposed versions and is
    required for services without a released version. The release is planned
    before the due date, linked as the vulnerability's ``patch_release``, and
    the vulnerability moves to *patching*; every write records its reason.
    Raises ``NotPermitted``, ``DomainError`` (already patched, not open) or
    ``ValidationError`` (bad versions or dates, by field); nothing is written then.
    """
    if not may_create_patch_release(user):
        raise NotPermitted("Creating a patch release needs a release manager's permissions.")
    now = now or timezone.now()
    with transaction.atomic():
        vulnerability = Vulnerability.objects.select_for_update().get(pk=vulnerability.pk)
        existing = _existing_patch(vulnerability)
        if existing is not None:
            raise DomainError(
                f"{vulnerability.cve_id} already has patch release {existing.key} "
                f"({existing.get_state_display()})."
            )
        if vulnerability.status not in UNRESOLVED:
            raise DomainError(
                f"{vulnerability.cve_id} is {vulnerability.get_status_display().lower()}; "
                "only an open vulnerability gets a patch release."
            )
        plan = plan_patch(vulnerability, now)
        if not plan.services:
            raise DomainError(f"{vulnerability.cve_id} affects no service.")
        chosen = dict(plan.versions)
        for service_id, version in (versions or {}).items():
            if service_id in chosen and version:
                chosen[service_id] = version.strip()
        problems: dict[str, list[str]] = {}
        for service in plan.services:
            version = chosen[service.pk]
            if not version:
                problems.setdefault("versions", []).append(
                    f"Enter the patch version of {service.name} (no released version is known)."
                )
            elif not VERSION_RE.match(version):
                problems.setdefault("versions", []).append(
                    f"“{version}” is not a version for {service.name} (e.g. 1.4.3)."
                )
        release_version = (release_version or "").strip() or plan.release_version
        if not release_version:
            release_version = max((v for v in chosen.values() if v), key=_version_key, default="")
        if release_version and not VERSION_RE.match(release_version):
            problems["version"] = [f"“{release_version}” is not a release version (e.g. 1.4.3)."]
        start = planned_start or plan.planned_start
        end = planned_end or (start + PATCH_DURATION if planned_start else plan.planned_end)
        if end <= start:
            problems["planned_end"] = ["The planned end must be after the planned start."]
        if start < now - timedelta(minutes=5):
            problems["planned_start"] = ["The planned start is in the past."]
        elif start > vulnerability.due_at > now:
            problems["planned_start"] = [
                f"Plan the patch before its due date, {vulnerability.due_at:%Y-%m-%d %H:%M} UTC."
            ]
        if problems:
            raise ValidationError(problems)

        known = policies()
        lines = [
            f"Security patch for {vulnerability.cve_id}: {vulnerability.title}.",
            f"CVSS {vulnerability.cvss} ({vulnerability.get_severity_display().lower()}); "
            f"discovered {vulnerability.discovered_at:%Y-%m-%d %H:%M} UTC; "
            f"patch due {vulnerability.due_at:%Y-%m-%d %H:%M} UTC.",
            _why_change_type(vulnerability, known),
            *plan.notes,
        ]
        release = Release(
            name=f"Security patch {vulnerability.cve_id}",
            version=release_version,
            description="\n".join(lines),
            kind=ReleaseKind.SECURITY_PATCH,
            change_type=plan.change_type,
            planned_start=start,
            planned_end=end,
            deadline=vulnerability.due_at,
            owner=user,
            author=user,
        )
        release.full_clean(exclude=["key", "author"])
        reason = f"Patch release for {vulnerability.cve_id}"
        release.save_with_reason(reason, user)
        for service in plan.services:
            released = plan.released.get(service.pk)
            ReleaseService(
                release=release, service=service, version=chosen[service.pk]
            ).save_with_reason(
                f"{reason}: {service.name} {released or '(no release yet)'} → {chosen[service.pk]}",
                user,
            )
            ScopeItem(
                release=release,
                title=f"Fix {vulnerability.cve_id} in {service.name}",
                kind=ScopeKind.SECURITY_PATCH,
                reference=vulnerability.cve_id,
                service=service,
                rationale=f"Patch due {vulnerability.due_at:%Y-%m-%d %H:%M} UTC.",
            ).save_with_reason(reason, user)
        vulnerability.patch_release = release
        vulnerability.status = VulnerabilityStatus.PATCHING
        vulnerability.save_with_reason(f"Patch release {release.key} created", user)
    return release


# --- demo data ------------------------------------------------------------------------------

DEMO_VULNERABILITIES = [
    # cve, title, cvss, service slugs, discovered hours ago, status
    ("CVE-2024-3094", "Backdoor in xz compression library", "10.0", ["auth-service"], 40, "open"),
    (
        "CVE-2023-44487",
        "HTTP/2 rapid reset denial of service",
        "7.5",
        ["web-storefront", "mobile-bff"],
        150,
        "open",
    ),
    (
        "CVE-2022-22965",
        "Spring4Shell remote code execution",
        "9.8",
        ["payments-api", "ledger"],
        60,
        "open",
    ),
    ("CVE-2023-38545", "curl SOCKS5 heap overflow", "7.5", ["payouts-batch"], 24, "open"),
    ("CVE-2021-44228", "Log4Shell in logging library", "10.0", ["common-lib"], 400, "patched"),
    ("CVE-2024-24786", "protobuf JSON unmarshal loop", "5.9", ["catalog-service"], 200, "open"),
    (
        "CVE-2023-2650",
        "OpenSSL slow ASN.1 object identifiers",
        "3.7",
        ["observability-agent"],
        500,
        "accepted",
    ),
]


def demo(users: dict, envs: dict) -> None:
    """Realistic vulnerabilities in every SLA state (idempotent: keyed by CVE id)."""
    author = users.get("compliance_officer") or next(iter(users.values()))
    ensure_policies()
    now = timezone.now()
    known = {s.slug: s for s in Service.objects.all()}
    for cve, title, cvss, slugs, hours_ago, status in DEMO_VULNERABILITIES:
        if Vulnerability.objects.filter(cve_id=cve).exists():
            continue
        services = [known[s] for s in slugs if s in known]
        if not services:
            continue
        vulnerability = Vulnerability(
            cve_id=cve,
            title=title,
            cvss=Decimal(cvss),
            discovered_at=now - timedelta(hours=hours_ago),
            status=status,
        )
        vulnerability.save_with_reason("Demo data", author)
        vulnerability.services.set(services)
