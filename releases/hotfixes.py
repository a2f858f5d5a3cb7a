"""Hotfixes (curriculum 3.5): built from what runs in production, carried forward by what comes.

A hotfix (kind ``hotfix`` or ``security_patch``) must be built from the version of each of its
services that runs in production now (the release of the latest succeeded production
deployment): same major.minor, a higher version. Releases of the same services that are not
deployed yet and are planned after the hotfix must carry it forward, or the next release
undoes the fix. A release carries it when it brings the service to at least the hotfix's
version, or when one of its scope items references the hotfix's key.

Web pages, the API and the demo call these functions; each does a fixed number of queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from releasemgr.decisions import Decision, Reason
from releases.choices import DeploymentStatus, ReleaseKind, ReleaseState, ScopeDecision
from releases.models import Release, ReleaseService, ScopeItem

HOTFIX_KINDS = (ReleaseKind.HOTFIX, ReleaseKind.SECURITY_PATCH)
# Releases that have not reached production and may still ship.
UPCOMING_STATES = (
    ReleaseState.DRAFT,
    ReleaseState.SUBMITTED,
    ReleaseState.APPROVED,
    ReleaseState.REJECTED,
    ReleaseState.DEPLOYING,
)
# A hotfix that will never ship needs carrying by nobody.
DEAD_STATES = (ReleaseState.CANCELLED, ReleaseState.ROLLED_BACK)
# How far back a normal release looks for hotfixes it must carry.
LOOK_BACK = timedelta(days=180)
CODE = "hotfix_base"


def version_key(version: str) -> tuple[int, ...]:
    """``"v1.4.2-rc.1"`` → ``(1, 4, 2)``: the numeric part, padded to three places."""
    match = re.match(r"^v?(\d+(?:\.\d+)*)", version or "")
    if not match:
        return (0, 0, 0)
    parts = [int(p) for p in match.group(1).split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def is_hotfix(release: Release) -> bool:
    return release.kind in HOTFIX_KINDS


def production_versions(service_ids) -> dict[int, ReleaseService]:
    """Per service, the ``ReleaseService`` of its latest succeeded production deployment.

    One query."""
    rows = (
        ReleaseService.objects.filter(
            service_id__in=list(service_ids),
            release__deployments__status=DeploymentStatus.SUCCEEDED,
            release__deployments__environment__is_production=True,
        )
        .select_related("release", "service")
        .order_by("service_id", "-release__deployments__finished_at", "-pk")
    )
    found: dict[int, ReleaseService] = {}
    for row in rows:
        found.setdefault(row.service_id, row)
    return found


def based_on_production(hotfix: Release) -> Decision:
    """Is each service of the hotfix built from the version in production?"""
    decision = Decision()
    links = list(hotfix.release_services.select_related("service"))
    production = production_versions(link.service_id for link in links)
    for link in links:
        prod = production.get(link.service_id)
        data = {"service": link.service.slug, "hotfix_version": link.version}
        if prod is None:
            decision.add(
                Reason(
                    CODE,
                    False,
                    f"{link.service.slug} has no successful production deployment: there is "
                    "nothing to hotfix; ship it as a normal release.",
                    data,
                )
            )
            continue
        data.update(production_version=prod.version, production_release=prod.release.key)
        ours, theirs = version_key(link.version), version_key(prod.version)
        if ours[:2] == theirs[:2] and ours > theirs:
            decision.add(
                Reason(
                    CODE,
                    True,
                    f"{link.service.slug} {link.version} is built on {prod.version}, in "
                    f"production with {prod.release.key}.",
                    data,
                )
            )
        else:
            decision.add(
                Reason(
                    CODE,
                    False,
                    f"{link.service.slug} {link.version} is not a patch of {prod.version}, the "
                    f"version in production ({prod.release.key}): build the hotfix from "
                    f"{prod.version} so that nothing unreleased ships with it.",
                    data,
                )
            )
    if not links:
        decision.add(Reason(CODE, False, f"{hotfix.key} names no services to fix.", {}))
    return decision


@dataclass
class Carry:
    """One hotfix and one later release of the same services: what the release must carry."""

    hotfix: Release
    release: Release
    services: list[dict] = field(default_factory=list)  # service, hotfix/release version, ok
    scope_items: list[ScopeItem] = field(default_factory=list)  # the hotfix's included items
    referenced: bool = False  # a scope item of the release names the hotfix key

    @property
    def carried(self) -> bool:
        return self.referenced or all(s["carried"] for s in self.services)

    @property
    def missing(self) -> list[dict]:
        return [] if self.referenced else [s for s in self.services if not s["carried"]]

    def as_dict(self) -> dict:
        return {
            "hotfix": self.hotfix.key,
            "release": self.release.key,
            "release_state": self.release.state,
            "planned_start": self.release.planned_start,
            "carried": self.carried,
            "referenced": self.referenced,
            "services": self.services,
            "scope_items": [
                {"id": i.pk, "title": i.title, "reference": i.reference} for i in self.scope_items
            ],
        }


def _pair(hotfix: Release, release: Release, loaded: dict) -> Carry:
    """``loaded`` maps a release pk to its (links, scope items), each loaded once."""
    hotfix_links, hotfix_items = loaded[hotfix.pk]
    release_links, release_items = loaded[release.pk]
    theirs = {link.service_id: link for link in release_links}
    carry = Carry(hotfix=hotfix, release=release)
    carry.scope_items = [i for i in hotfix_items if i.decision == ScopeDecision.INCLUDED]
    key = hotfix.key.lower()
    carry.referenced = any(
        key in (i.reference or "").lower() or key in i.title.lower() for i in release_items
    )
    for link in hotfix_links:
        other = theirs.get(link.service_id)
        if other is None:
            continue
        carry.services.append(
            {
                "service": link.service.slug,
                "hotfix_version": link.version,
                "release_version": other.version,
                "carried": version_key(other.version) >= version_key(link.version),
            }
        )
    return carry


def _load(release: Release) -> tuple[list[ReleaseService], list[ScopeItem]]:
    """The release's services and scope items (two queries, or none when prefetched)."""
    links = list(release.release_services.select_related("service"))
    return links, list(release.scope_items.all())


def _loaded(release: Release) -> tuple[list, list]:
    return list(release.release_services.all()), list(release.scope_items.all())


def _later(release: Release, than: Release) -> bool:
    if release.planned_start is None or than.planned_start is None:
        return release.created >= than.created
    return release.planned_start >= than.planned_start


def _with_links(queryset):
    return queryset.select_related("owner").prefetch_related(
        "release_services__service", "scope_items"
    )


def carry_forward(hotfix: Release) -> list[Carry]:
    """Upcoming releases of the hotfix's services (not in production, planned later), each with
    what it must carry and whether it already does. Not-carried first."""
    if not is_hotfix(hotfix):
        return []
    own = _load(hotfix)
    service_ids = [link.service_id for link in own[0]]
    candidates = _with_links(
        Release.objects.filter(
            state__in=UPCOMING_STATES, release_services__service_id__in=service_ids
        )
        .exclude(pk=hotfix.pk)
        .distinct()
    )
    later = [r for r in candidates if _later(r, hotfix)]
    loaded = {hotfix.pk: own, **{r.pk: _loaded(r) for r in later}}
    found = [_pair(hotfix, r, loaded) for r in later]
    return sorted(found, key=lambda c: (c.carried, c.release.planned_start or timezone.now()))


def hotfixes_to_carry(release: Release) -> list[Carry]:
    """For a release that is not yet in production: the recent hotfixes of its services that
    it must carry forward, each with whether it does."""
    if release.state not in UPCOMING_STATES:
        return []
    own = _load(release)
    service_ids = [link.service_id for link in own[0]]
    candidates = _with_links(
        Release.objects.filter(
            kind__in=HOTFIX_KINDS,
            release_services__service_id__in=service_ids,
            created__gte=timezone.now() - LOOK_BACK,
        )
        .exclude(Q(pk=release.pk) | Q(state__in=DEAD_STATES))
        .distinct()
    )
    earlier = [h for h in candidates if _later(release, h)]
    loaded = {release.pk: own, **{h.pk: _loaded(h) for h in earlier}}
    found = [_pair(h, release, loaded) for h in earlier]
    return sorted(found, key=lambda c: (c.carried, c.hotfix.key))


def for_release(release: Release) -> list[Carry]:
    """What the release page shows: a hotfix's carriers, or the hotfixes a release carries."""
    return carry_forward(release) if is_hotfix(release) else hotfixes_to_carry(release)
