"""Shared-library versions: which releases would leave services on incompatible versions.

Two kinds of flag, each naming the library, the releases, the services with their versions and
the teams involved (so they can talk):

- ``library_version_conflict``: a release would leave two deployed services that call each
  other (a runtime dependency) on incompatible versions of a library they both use: different
  major versions, or a version outside a service's declared constraint for the library.
- ``library_pin_conflict``: two open releases pin different versions of one library, and at
  least one of them is in flight (submitted, approved or deploying). Two drafts disagreeing is
  still a plan, not a conflict.

A flag is shown on both releases and in the library view; every read is a handful of queries
whatever the catalog's size.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from releasemgr.decisions import IllegalTransition, Reason
from releases.choices import DependencyKind, ReleaseState
from releases.models import Release, ReleaseService, Service, ServiceDependency
from releases.models.trains import LibraryUsage, ReleaseLibraryPin
from releases.validators import parse_semver

IN_FLIGHT_STATES = (ReleaseState.SUBMITTED, ReleaseState.APPROVED, ReleaseState.DEPLOYING)
OPEN_STATES = (ReleaseState.DRAFT, *IN_FLIGHT_STATES)

_CONSTRAINT_RE = re.compile(r"^\s*(>=|<=|==|!=|~=|>|<|\^)?\s*v?(\d+(?:\.\d+){0,2})\s*$")


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def satisfies(version: str, constraint: str) -> bool | None:
    """Whether ``version`` meets a constraint such as ``>=2.1,<3`` or ``~=1.4``.

    None when either does not parse (then nobody can say it is broken).
    """
    parsed = parse_semver(version)
    if parsed is None or not constraint.strip():
        return None
    have = parsed[:3]
    for part in constraint.split(","):
        match = _CONSTRAINT_RE.match(part)
        if not match:
            return None
        op, raw = match.group(1) or "==", match.group(2)
        want = _numbers(raw)
        padded = want + (0,) * (3 - len(want))
        if op == "~=":
            # ~=1.4 → >=1.4,<2 ; ~=1.4.2 → >=1.4.2,<1.5
            prefix = want[:-1] if len(want) > 1 else want
            ok = have >= padded and have[: len(prefix)] == prefix
        elif op == "^":
            ok = have >= padded and have[0] == want[0]
        elif op == "==":
            ok = have[: len(want)] == want
        elif op == "!=":
            ok = have[: len(want)] != want
        else:
            ok = {
                ">=": have >= padded,
                "<=": have <= padded,
                ">": have > padded,
                "<": have < padded,
            }[op]
        if not ok:
            return False
    return True


def major(version: str) -> int | None:
    parsed = parse_semver(version)
    return parsed[0] if parsed else None


@dataclass
class _Catalog:
    """What the checks read, loaded once: usages, constraints, runtime links, open pins."""

    usage: dict[tuple[int, int], LibraryUsage]
    constraints: dict[tuple[int, int], str]
    runtime: list[tuple[int, int]]
    pins: list[ReleaseLibraryPin]
    shipped: dict[int, set[int]]
    services: dict[int, Service]


def _load(library=None) -> _Catalog:
    usages = LibraryUsage.objects.select_related("service__team", "library")
    pins = ReleaseLibraryPin.objects.filter(release__state__in=OPEN_STATES).select_related(
        "release", "library"
    )
    links = ServiceDependency.objects.filter(kind=DependencyKind.LIBRARY)
    if library is not None:
        usages, pins, links = (
            usages.filter(library=library),
            pins.filter(library=library),
            links.filter(depends_on=library),
        )
    usage = {(u.service_id, u.library_id): u for u in usages}
    pin_list = list(pins.order_by("library__name", "release__key"))
    release_ids = {p.release_id for p in pin_list}
    shipped: dict[int, set[int]] = defaultdict(set)
    services = {u.service_id: u.service for u in usage.values()}
    for rs in ReleaseService.objects.filter(release_id__in=release_ids).select_related(
        "service__team"
    ):
        shipped[rs.release_id].add(rs.service_id)
        services.setdefault(rs.service_id, rs.service)
    return _Catalog(
        usage=usage,
        constraints={
            (d.service_id, d.depends_on_id): d.version_constraint
            for d in links
            if d.version_constraint
        },
        runtime=list(
            ServiceDependency.objects.filter(kind=DependencyKind.RUNTIME).values_list(
                "service_id", "depends_on_id"
            )
        ),
        pins=pin_list,
        shipped=shipped,
        services=services,
    )


def _who(service: Service, version: str) -> dict:
    return {"service": service.slug, "version": version, "team": service.team.name}


def _teams(rows: list[dict]) -> list[str]:
    return sorted({r["team"] for r in rows})


def _version_conflicts(cat: _Catalog, pin: ReleaseLibraryPin) -> list[Reason]:
    """Runtime-linked service pairs this pin would leave on incompatible versions (kind a)."""
    lib = pin.library_id
    moved = cat.shipped.get(pin.release_id, set())

    def after(service_id: int) -> str | None:
        if service_id in moved and (service_id, lib) in cat.usage:
            return pin.version
        current = cat.usage.get((service_id, lib))
        return current.version if current else None

    found = []
    for a, b in cat.runtime:
        if a not in moved and b not in moved:
            continue
        va, vb = after(a), after(b)
        if va is None or vb is None or (va == vb and a not in moved and b not in moved):
            continue
        problems = []
        if major(va) is not None and major(vb) is not None and major(va) != major(vb):
            problems.append(f"major versions differ ({va} vs {vb})")
        for sid, version in ((a, va), (b, vb)):
            constraint = cat.constraints.get((sid, lib), "")
            if constraint and satisfies(version, constraint) is False:
                problems.append(
                    f"{cat.services[sid].slug} requires {constraint} but would be on {version}"
                )
        if not problems:
            continue
        rows = [_who(cat.services[a], va), _who(cat.services[b], vb)]
        found.append(
            Reason(
                "library_version_conflict",
                False,
                f"{pin.release.key} would leave {rows[0]['service']} ({rows[0]['team']}) on "
                f"{pin.library.slug} {va} and {rows[1]['service']} ({rows[1]['team']}), which "
                f"it calls, on {vb}: {'; '.join(problems)}.",
                {
                    "library": pin.library.slug,
                    "releases": [pin.release.key],
                    "services": rows,
                    "teams": _teams(rows),
                },
            )
        )
    return found


def _pin_conflicts(cat: _Catalog, release_id: int | None) -> list[Reason]:
    """Open releases pinning different versions of one library, one in flight (kind b)."""
    by_library: dict[int, list[ReleaseLibraryPin]] = defaultdict(list)
    for pin in cat.pins:
        by_library[pin.library_id].append(pin)
    found = []
    for pins in by_library.values():
        for i, first in enumerate(pins):
            for second in pins[i + 1 :]:
                if first.version == second.version:
                    continue
                if release_id is not None and release_id not in (
                    first.release_id,
                    second.release_id,
                ):
                    continue
                if not (
                    first.release.state in IN_FLIGHT_STATES
                    or second.release.state in IN_FLIGHT_STATES
                ):
                    continue
                rows = [
                    _who(cat.services[sid], pin.version)
                    for pin in (first, second)
                    for sid in sorted(cat.shipped.get(pin.release_id, ()))
                ]
                majors = major(first.version) != major(second.version)
                found.append(
                    Reason(
                        "library_pin_conflict",
                        False,
                        f"{first.release.key} ({first.release.get_state_display().lower()}) pins "
                        f"{first.library.slug} {first.version}, {second.release.key} "
                        f"({second.release.get_state_display().lower()}) pins {second.version}"
                        + (" — different major versions" if majors else "")
                        + (f"; teams: {', '.join(_teams(rows))}" if rows else "")
                        + ".",
                        {
                            "library": first.library.slug,
                            "releases": [first.release.key, second.release.key],
                            "services": rows,
                            "teams": _teams(rows),
                        },
                    )
                )
    return found


def conflicts(release: Release | None = None, library: Service | None = None) -> list[Reason]:
    """Every library flag (of one release, or of all open releases; of one library or all).

    Five queries whatever the number of services, usages and pins.
    """
    cat = _load(library)
    found: list[Reason] = []
    for pin in cat.pins:
        if release is None or pin.release_id == release.pk:
            found.extend(_version_conflicts(cat, pin))
    found.extend(_pin_conflicts(cat, release.pk if release is not None else None))
    return found


def is_shared_library(service: Service) -> bool:
    """A service other services link as a shared library."""
    return ServiceDependency.objects.filter(
        depends_on=service, kind=DependencyKind.LIBRARY
    ).exists()


def shared_libraries():
    """Services linked as a shared library by at least one other service."""
    return (
        Service.objects.filter(dependent_links__kind=DependencyKind.LIBRARY)
        .distinct()
        .select_related("team")
    )


# --- declaring usages and pins (web pages and API call these) ----------------------------------


def _editable(release: Release) -> None:
    if not release.is_editable:
        raise IllegalTransition(
            f"{release.key} is {release.get_state_display().lower()}: only a draft or rejected "
            "release can change its library pins."
        )


def save_usage(usage: LibraryUsage, user, reason: str = "") -> LibraryUsage:
    """Declare (or change) the version of a shared library a service uses, after the model's
    checks (semantic version, a shared library, one usage per service and library)."""
    usage.full_clean()
    with transaction.atomic():
        usage.save_with_reason(reason or ("edited" if usage.pk else "declared"), user=user)
    return usage


def delete_usage(usage: LibraryUsage, user, reason: str = "") -> None:
    with transaction.atomic():
        usage._change_reason = reason or "no longer used"
        usage._history_user = user
        usage.delete()


def save_pin(pin: ReleaseLibraryPin, user, reason: str = "") -> ReleaseLibraryPin:
    """Pin (or re-pin) the version of a shared library a release brings its services onto.
    Only while the release is editable; one pin per release and library."""
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=pin.release_id)
        _editable(release)
        twin = (
            ReleaseLibraryPin.objects.filter(release=release, library_id=pin.library_id)
            .exclude(pk=pin.pk)
            .first()
        )
        if twin is not None:
            raise ValidationError(
                {
                    "library": f"{release.key} already pins {twin.library.slug} {twin.version}: "
                    "change that pin instead."
                }
            )
        pin.full_clean()
        pin.save_with_reason(reason or ("re-pinned" if pin.pk else "pinned"), user=user)
    return pin


def delete_pin(pin: ReleaseLibraryPin, user, reason: str = "") -> None:
    """Drop a release's pin, only while the release is editable."""
    with transaction.atomic():
        _editable(Release.objects.select_for_update().get(pk=pin.release_id))
        pin._change_reason = reason or "unpinned"
        pin._history_user = user
        pin.delete()


def library_history(library: Service, limit: int = 50) -> list[dict]:
    """Who declared, re-pinned or dropped which version of ``library``, newest first: the
    history of its usages and pins in one list (two queries)."""
    records = list(
        LibraryUsage.history.filter(library_id=library.pk).select_related(
            "history_user", "service"
        )[: limit * 2]
    ) + list(
        ReleaseLibraryPin.history.filter(library_id=library.pk).select_related(
            "history_user", "release"
        )[: limit * 2]
    )
    records.sort(key=lambda r: (r.history_date, r.history_id))
    last: dict[tuple[str, int], str] = {}
    rows = []
    for record in records:
        usage = isinstance(record, LibraryUsage.history.model)
        key = ("usage" if usage else "pin", record.id)
        before = last.get(key)
        last[key] = record.version
        if usage:
            who = record.service.slug if record.service else f"service #{record.service_id}"
            subject, url = (
                f"{who} uses",
                record.service.get_absolute_url() if record.service else "",
            )
        else:
            who = record.release.key if record.release else f"release #{record.release_id}"
            subject, url = (
                f"{who} pins",
                record.release.get_absolute_url() if record.release else "",
            )
        rows.append(
            {
                "date": record.history_date,
                "user": record.history_user,
                "type": {"+": "Created", "~": "Changed", "-": "Deleted"}[record.history_type],
                "reason": record.history_change_reason or "",
                "subject": subject,
                "url": url,
                "version": record.version,
                "before": before if before != record.version else None,
            }
        )
    return rows[::-1][:limit]
