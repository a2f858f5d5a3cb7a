"""Release trains: departures by cadence, which services to decouple and why, and decoupling.

A train bundles releases of several services on a fixed cadence. That works while the services
on one departure share a risk profile and recovery SLA; when one is high-risk or must recover
much faster than the rest, a failure or rollback of it holds back (or endangers) the others,
and it should leave on its own release. ``decoupling_advice`` says which and why, with numbers;
``decouple`` moves a service out into its own release, keeping the history of what moved.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import median
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from releasemgr.decisions import Decision, DomainError, IllegalTransition, Reason
from releases.choices import RiskProfile
from releases.models import Release, ReleaseService, Service
from releases.models.trains import ReleaseLibraryPin, ReleaseTrain, TrainCar

# Services whose recovery SLA is at most this many minutes need a fast, separate rollback.
TIGHT_SLA_MINUTES = 60
MAX_DEPARTURES = 52


def _rule(train: ReleaseTrain):
    body = train.cadence.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    zone = ZoneInfo(train.time_zone or "UTC")
    start = timezone.localtime(train.dtstart, zone).replace(tzinfo=None)
    return rrulestr(body, dtstart=start, ignoretz=True), zone


def next_departures(train: ReleaseTrain, n: int = 5, after: datetime | None = None) -> list:
    """The next ``n`` departures at or after ``after`` (now), as aware datetimes in UTC.

    The cadence is evaluated in the train's time zone, so "every second Tuesday at 10:00"
    stays at 10:00 local time across daylight-saving changes.
    """
    rule, zone = _rule(train)
    after = after or timezone.now()
    local_after = timezone.localtime(after, zone).replace(tzinfo=None)
    out = []
    moment = rule.after(local_after, inc=True)
    while moment is not None and len(out) < min(n, MAX_DEPARTURES):
        out.append(moment.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")))
        moment = rule.after(moment, inc=False)
    return out


def is_departure(train: ReleaseTrain, when: datetime) -> bool:
    """Whether ``when`` is one of the train's departures."""
    found = next_departures(train, 1, after=when)
    return bool(found) and found[0] == when.astimezone(ZoneInfo("UTC"))


def add_release(
    train: ReleaseTrain, release: Release, departure: datetime | None, user, reason: str = ""
) -> TrainCar:
    """Put a release on a train departure (the next one when omitted). Only while the release
    is editable; a release rides at most one train."""
    errors = {}
    if not release.is_editable:
        raise IllegalTransition(
            f"{release.key} is {release.get_state_display().lower()}: only a draft or rejected "
            "release can join a train."
        )
    if not train.active:
        errors["train"] = f"The {train.name} is not running (inactive)."
    if TrainCar.objects.filter(release=release).exists():
        errors["release"] = f"{release.key} already rides a train."
    if departure is None:
        upcoming = next_departures(train, 1)
        if not upcoming:
            errors["departure"] = "The train has no departure left."
        departure = upcoming[0] if upcoming else None
    elif not is_departure(train, departure):
        errors["departure"] = (
            f"{timezone.localtime(departure, ZoneInfo(train.time_zone)):%Y-%m-%d %H:%M} is not "
            f"a departure of the {train.name}; pick one of its next departures."
        )
    elif departure < timezone.now():
        errors["departure"] = "That departure has already left."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        car = TrainCar(train=train, release=release, departure=departure)
        car.save_with_reason(reason or f"{release.key} joined the {train.name}", user=user)
    return car


def remove_release(train: ReleaseTrain, release: Release, user, reason: str = "") -> None:
    """Take a release off the train (it keeps its services and history). Only while the
    release is editable: a submitted or approved release was reviewed as riding the train."""
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=release.pk)
        if not release.is_editable:
            raise IllegalTransition(
                f"{release.key} is {release.get_state_display().lower()}: only a draft or "
                "rejected release can leave a train."
            )
        car = TrainCar.objects.filter(train=train, release=release).first()
        if car is None:
            raise DomainError(f"{release.key} does not ride the {train.name}.")
        why = f"left the {train.name}" + (f": {reason}" if reason else "")
        car._change_reason = f"{release.key} {why}"
        car._history_user = user
        car.delete()
        release.save_with_reason(why, user=user)


def _profile(service: Service) -> dict:
    critical = service.risk_profile == RiskProfile.HIGH or (
        service.tier == 1 and service.customer_facing
    )
    return {
        "critical": critical,
        "tight_sla": service.recovery_sla_minutes <= TIGHT_SLA_MINUTES,
    }


def _describe(service: Service) -> str:
    facing = "customer-facing" if service.customer_facing else "backend"
    return (
        f"{service.slug} ({service.get_risk_profile_display().lower()} risk, tier "
        f"{service.tier}, {facing}, recovery SLA {service.recovery_sla_minutes} min)"
    )


def cars_for(train: ReleaseTrain, departure: datetime | None = None):
    """The train's cars (one departure, or every upcoming one) with releases and services."""
    cars = TrainCar.objects.filter(train=train).select_related("release")
    if departure is not None:
        cars = cars.filter(departure=departure)
    else:
        cars = cars.filter(departure__gte=timezone.now())
    return cars.prefetch_related(
        Prefetch(
            "release__release_services",
            queryset=ReleaseService.objects.select_related("service__team"),
        )
    )


def decoupling_advice(train: ReleaseTrain, departure: datetime | None = None, cars=None):
    """Which services on a departure (or on all upcoming ones) to decouple, and why.

    Services are grouped by compatibility (critical or not: high risk, or tier 1 and customer-
    facing; tight recovery SLA or not). The largest group sets the train's pace (on a tie the
    less critical group stays: the critical service is the one to hold apart); every service
    outside it gets a failed ``decouple`` reason naming the release it rides, with numbers.
    One passed reason when the services are compatible. Two queries (the cars, their lines).
    """
    cars = list(cars if cars is not None else cars_for(train, departure))
    rides = [(car, rs) for car in cars for rs in car.release.release_services.all()]
    decision = Decision()
    if len({rs.service_id for _car, rs in rides}) < 2:
        decision.add(
            Reason(
                "decouple",
                True,
                "Fewer than two services ride this departure: nothing to decouple.",
            )
        )
        return decision
    keys = {rs.service_id: tuple(_profile(rs.service).values()) for _car, rs in rides}
    counts = Counter(keys.values())
    # Largest group first; on a tie, the less critical (False < True) stays on the train.
    core = min(counts, key=lambda k: (-counts[k], k))
    core_services = [rs.service for _car, rs in rides if keys[rs.service_id] == core]
    typical_sla = round(median(s.recovery_sla_minutes for s in core_services))
    core_risks = sorted({s.get_risk_profile_display().lower() for s in core_services})
    for car, rs in rides:
        service = rs.service
        if keys[service.pk] == core:
            continue
        critical, tight = keys[service.pk]
        why = []
        if critical and not core[0]:
            what = (
                "high risk"
                if service.risk_profile == RiskProfile.HIGH
                else "tier 1 and customer-facing"
            )
            why.append(
                f"it is {what} while the {len(core_services)} other service(s) are "
                f"{'/'.join(core_risks)} risk: a failure or rollback of it would hold the whole "
                "train back"
            )
        if not critical and core[0]:
            why.append(
                f"it is {service.get_risk_profile_display().lower()} risk and would wait on the "
                "stricter checks and slower approvals of the critical services"
            )
        if tight and not core[1]:
            why.append(
                f"it must recover within {service.recovery_sla_minutes} min while the train's "
                f"services allow {typical_sla} min (median): a rollback of the whole train, "
                "sized for them, would breach its SLA"
            )
        if not tight and core[1]:
            why.append(
                f"it allows {service.recovery_sla_minutes} min to recover while the train's "
                f"services must recover within {typical_sla} min (median): it would be held to "
                "a rollback plan it does not need"
            )
        if not why:
            continue
        decision.add(
            Reason(
                "decouple",
                False,
                f"Decouple {_describe(service)} from {car.release.key}: " + "; ".join(why) + ".",
                {
                    "service": service.slug,
                    "release": car.release.key,
                    "departure": car.departure.isoformat(),
                    "recovery_sla_minutes": service.recovery_sla_minutes,
                    "train_sla_minutes": typical_sla,
                    "risk_profile": service.risk_profile,
                    "stays": sorted({s.slug for s in core_services} - {service.slug}),
                },
            )
        )
    if not decision.reasons:
        decision.add(
            Reason(
                "decouple",
                True,
                f"The {len(keys)} services share a risk profile and recovery SLA band "
                f"({'/'.join(core_risks)} risk, median SLA {typical_sla} min): they can ride "
                "together.",
            )
        )
    return decision


def decouple(train: ReleaseTrain, release: Release, service: Service, user, reason: str):
    """Move ``service`` out of a train release into its own new release (off the train).

    The service's line and its scope items move (their history shows from where to where);
    pins of libraries the service uses are copied. A release that ships only this service
    leaves the train instead. Only while the release is editable. Returns the release the
    service now ships in.
    """
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the service leaves the train."})
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=release.pk)
        if not release.is_editable:
            raise IllegalTransition(
                f"{release.key} is {release.get_state_display().lower()}: only a draft or "
                "rejected release can be split."
            )
        car = TrainCar.objects.filter(train=train, release=release).first()
        if car is None:
            raise DomainError(f"{release.key} does not ride the {train.name}.")
        lines = list(release.release_services.select_related("service"))
        line = next((rs for rs in lines if rs.service_id == service.pk), None)
        if line is None:
            raise ValidationError(
                {"service": f"{release.key} does not ship {service.slug}: nothing to decouple."}
            )
        if len(lines) == 1:
            car._change_reason = f"{release.key} left the {train.name}: {reason}"
            car._history_user = user
            car.delete()
            release.save_with_reason(f"left the {train.name} (decoupled): {reason}", user=user)
            return release
        new = Release(
            name=f"{release.name} — {service.name}",
            version=line.version,
            description=f"Decoupled from {release.key} ({train.name}): {reason}",
            kind=release.kind,
            change_type=release.change_type,
            planned_start=release.planned_start,
            planned_end=release.planned_end,
            owner=release.owner,
            author=release.author,
            rollback_plan=release.rollback_plan,
            planned_strategy=release.planned_strategy,
            deadline=release.deadline,
            compliance_deadline=release.compliance_deadline,
            touches=release.touches,
        )
        new.save_with_reason(f"decoupled from {release.key} ({train.name}): {reason}", user=user)
        moved = f"decoupled from {release.key} into {new.key}: {reason}"
        line.release = new
        line.save_with_reason(moved, user=user)
        for item in release.scope_items.filter(service=service):
            item.release = new
            item.save_with_reason(moved, user=user)
        used = set(service.library_usages.values_list("library_id", flat=True))
        for pin in release.library_pins.filter(library_id__in=used):
            ReleaseLibraryPin(
                release=new, library_id=pin.library_id, version=pin.version
            ).save_with_reason(f"copied from {release.key} (decoupled)", user=user)
        release.save_with_reason(
            f"{service.slug} decoupled into {new.key} ({train.name}): {reason}", user=user
        )
    return new
