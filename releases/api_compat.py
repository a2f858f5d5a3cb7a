"""API compatibility (curriculum 3.3): does a release break an API someone still calls?

Services publish API versions (``ApiVersion``) and name their consumers (our services, with
their owning teams, and external clients). A release records what it does to an API version
(``ApiChange``: adds / breaks / removes). Breaking or removing a version that is not retired
and still has consumers is flagged, naming every consumer. Each version carries a
deprecation schedule (deprecated on, sunset on) and the consumers still to move off it.

Web pages, the API and the demo call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Prefetch
from django.utils import timezone

from releasemgr.decisions import Decision, Reason
from releases.models import ApiChange, ApiConsumer, ApiVersion
from releases.models.interfaces import ApiChangeKind, ApiVersionStatus

CODE = "api_compatibility"
INCOMPATIBLE = (ApiChangeKind.BREAKS, ApiChangeKind.REMOVES)


def consumers_queryset():
    return ApiConsumer.objects.select_related("consumer_service__team").order_by(
        "consumer_service__name", "external_client", "pk"
    )


def describe_consumer(consumer: ApiConsumer) -> str:
    """ "checkout-service (team Storefront)" or "external client Acme POS"."""
    if consumer.consumer_service_id:
        service = consumer.consumer_service
        return f"{service.slug} (team {service.team.name})"
    contact = f", contact {consumer.contact}" if consumer.contact else ""
    return f"external client {consumer.external_client}{contact}"


def consumer_data(consumer: ApiConsumer) -> dict:
    service = consumer.consumer_service
    return {
        "service": service.slug if service else None,
        "team": service.team.slug if service else None,
        "external_client": consumer.external_client or None,
        "contact": consumer.contact,
    }


def release_changes(release) -> list[ApiChange]:
    """The release's API changes with their versions and consumers (two queries)."""
    cached = getattr(release, "_api_changes", None)
    if cached is None:
        cached = release._api_changes = list(
            ApiChange.objects.filter(release=release)
            .select_related("api_version__service")
            .prefetch_related(Prefetch("api_version__consumers", queryset=consumers_queryset()))
            .order_by("api_version__service__name", "api_version__name", "pk")
        )
    return cached


def change_reason(change: ApiChange) -> Reason:
    """One change's verdict: incompatible changes to a used, unretired version fail."""
    version = change.api_version
    consumers = list(version.consumers.all())
    data = {
        "api_version": version.pk,
        "service": version.service.slug,
        "change": change.change,
        "consumers": [consumer_data(c) for c in consumers],
        "teams": sorted({c.consumer_service.team.name for c in consumers if c.consumer_service}),
    }
    label = f"{version} of {version.service.slug}"
    if change.change not in INCOMPATIBLE:
        return Reason(CODE, True, f"{change.release.key} adds to {label} (compatible).", data)
    verb = "removes" if change.change == ApiChangeKind.REMOVES else "breaks"
    if version.status == ApiVersionStatus.RETIRED:
        return Reason(CODE, True, f"{change.release.key} {verb} {label}, already retired.", data)
    if not consumers:
        return Reason(CODE, True, f"{change.release.key} {verb} {label}; nobody consumes it.", data)
    sunset = f" (sunset {version.sunset_on:%Y-%m-%d})" if version.sunset_on else ""
    return Reason(
        CODE,
        False,
        f"{change.release.key} {verb} {label}{sunset}, still used by "
        f"{len(consumers)} consumer{'s' if len(consumers) != 1 else ''}: "
        + "; ".join(describe_consumer(c) for c in consumers)
        + ". Keep the version until they move, or agree the change with them.",
        data,
    )


def check(release) -> Decision:
    """Every API change of ``release``, flagged when it breaks or removes a version in use."""
    decision = Decision()
    changes = release_changes(release)
    for change in changes:
        change.release = release
        decision.add(change_reason(change))
    if not changes:
        decision.add(Reason(CODE, True, f"{release.key} records no API changes.", {}))
    return decision


@dataclass
class Schedule:
    """A version's deprecation schedule and who still has to move off it."""

    version: ApiVersion
    consumers: list[ApiConsumer] = field(default_factory=list)
    days_to_sunset: int | None = None
    phase: str = "active"  # active, deprecated, sunset passed, retired
    message: str = ""


def schedule(version: ApiVersion, today: date | None = None) -> Schedule:
    """Where ``version`` is in its deprecation schedule (uses its prefetched consumers)."""
    today = today or timezone.localdate()
    consumers = list(version.consumers.all())
    result = Schedule(version=version, consumers=consumers)
    if version.sunset_on:
        result.days_to_sunset = (version.sunset_on - today).days
    if version.status == ApiVersionStatus.RETIRED:
        result.phase = "retired"
        result.message = f"{version} is retired."
    elif version.sunset_on and version.sunset_on <= today:
        result.phase = "sunset passed"
        result.message = (
            f"{version} passed its sunset on {version.sunset_on:%Y-%m-%d} and is not retired"
            + (f"; {len(consumers)} consumer(s) still use it." if consumers else ".")
        )
    elif version.status == ApiVersionStatus.DEPRECATED or (
        version.deprecated_on and version.deprecated_on <= today
    ):
        result.phase = "deprecated"
        when = f" since {version.deprecated_on:%Y-%m-%d}" if version.deprecated_on else ""
        sunset = (
            f"; sunset {version.sunset_on:%Y-%m-%d} (in {result.days_to_sunset} days)"
            if version.sunset_on
            else "; no sunset date yet"
        )
        result.message = (
            f"{version} is deprecated{when}{sunset}; {len(consumers)} consumer(s) to move."
        )
    else:
        result.message = f"{version} is active" + (
            f"; deprecation planned for {version.deprecated_on:%Y-%m-%d}."
            if version.deprecated_on
            else "."
        )
    return result


def versions_with_consumers():
    """API versions with their service and consumers loaded (for lists and schedules)."""
    return ApiVersion.objects.select_related("service__team").prefetch_related(
        Prefetch("consumers", queryset=consumers_queryset())
    )
