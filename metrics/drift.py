"""Configuration drift: is a service configured in an environment the way it should be?

The rules, in one place (web pages, API and demo call these functions):

- **Observed** configuration: the latest ``ConfigSnapshot`` a pipeline or agent posted for the
  service and environment. Values are redacted (``releasemgr.redaction.redact_data``) before
  they are saved, so a planted secret is never stored or shown.
- **Expected** configuration (``expected_configuration``): the configuration set of the release
  running there (a release *deploying* or *deployed* whose latest running or succeeded
  deployment to that environment ships the service: its set whose version is the shipped
  version, else the latest set for the service and environment); without such a release, the
  last **accepted baseline**; without a baseline, the latest configuration set. Nothing at all:
  no drift can be measured.
- **Drift** (``compare``): every key missing, unexpected or changed. Re-posting the same
  snapshot changes nothing (an open item is updated, never duplicated); an open or to-fix item
  whose difference disappeared is marked fixed; a difference already accepted as baseline with
  the same value stays accepted. A secret the expected set refers to (``vault:...``) that the
  agent reports resolved (redacted) is not drift: it is there and cannot be compared.
- **Reconcile** (``reconcile``): accept as the new baseline (the baseline takes the observed
  value) or mark to fix; both need a reason; a fixed or accepted item cannot be reconciled again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from metrics.models.drift import (
    ConfigBaseline,
    ConfigSnapshot,
    DriftItem,
    DriftKind,
    DriftStatus,
)
from releasemgr.decisions import DomainError, IllegalTransition, Reason
from releasemgr.redaction import MASK, REFERENCE_RE, redact_data
from releases.choices import ReleaseState
from releases.models import ConfigSet, Deployment, Release, Service
from scheduling.models import Environment

MAX_DEPTH = 4  # a nested object deeper than this is refused
MAX_KEYS = 500
MAX_KEY_LENGTH = 200
MAX_VALUE_LENGTH = 5000
REPORT_PERMISSION = "metrics.add_configsnapshot"
RECONCILE_PERMISSION = "metrics.change_driftitem"
ACTIVE = (DriftStatus.OPEN, DriftStatus.TO_FIX)


class InvalidValues(DomainError):
    """Posted values that cannot be a configuration (mapped to 400 field errors)."""

    status_code = 400
    code = "invalid"


# --- shape ----------------------------------------------------------------------------------------


def values_errors(values: Any) -> list[str]:
    """Why ``values`` is not a configuration: an object of keys to values, nested at most
    ``MAX_DEPTH`` levels, at most ``MAX_KEYS`` settings. Empty when it is fine."""
    if not isinstance(values, dict):
        return ['Give the configuration as an object of keys to values, e.g. {"replicas": 3}.']
    errors: list[str] = []
    count = 0

    def walk(data: dict, path: str, depth: int) -> None:
        nonlocal count
        if depth > MAX_DEPTH:
            errors.append(f"'{path}' is nested too deep (at most {MAX_DEPTH} levels).")
            return
        for key, value in data.items():
            name = f"{path}.{key}" if path else str(key)
            if not str(key).strip():
                errors.append(f"An empty key under '{path or '(top)'}'.")
                continue
            if len(name) > MAX_KEY_LENGTH:
                errors.append(f"Key '{name[:40]}…' is longer than {MAX_KEY_LENGTH} characters.")
                continue
            if isinstance(value, dict):
                walk(value, name, depth + 1)
            else:
                count += 1
                if len(str(value)) > MAX_VALUE_LENGTH:
                    errors.append(f"'{name}' is longer than {MAX_VALUE_LENGTH} characters.")

    walk(values, "", 1)
    if count > MAX_KEYS:
        errors.append(f"{count} settings; at most {MAX_KEYS} per snapshot.")
    return errors[:20]


def flatten(values: dict, prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted keys: ``{"db": {"host": "x"}}`` → ``{"db.host": "x"}``."""
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, name))
        else:
            out[name] = value
    return out


@dataclass
class Diff:
    """``added``: only in the right; ``removed``: only in the left; ``changed``: both, differing."""

    added: dict[str, Any] = field(default_factory=dict)
    removed: dict[str, Any] = field(default_factory=dict)
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    same: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)

    def rows(self) -> list[dict]:
        """Every key in order, with both sides and how they compare (for side-by-side views)."""
        keys = sorted({*self.added, *self.removed, *self.changed, *self.same})
        rows = []
        for key in keys:
            if key in self.added:
                rows.append({"key": key, "left": None, "right": self.added[key], "status": "added"})
            elif key in self.removed:
                rows.append(
                    {"key": key, "left": self.removed[key], "right": None, "status": "removed"}
                )
            elif key in self.changed:
                left, right = self.changed[key]
                rows.append({"key": key, "left": left, "right": right, "status": "changed"})
            else:
                v = self.same[key]
                rows.append({"key": key, "left": v, "right": v, "status": "same"})
        return rows


def _secret_unknown(expected: Any, actual: Any) -> bool:
    return actual == MASK and isinstance(expected, str) and bool(REFERENCE_RE.match(expected))


def _canonical(value: Any) -> Any:
    """A scalar as agents and config sets may spell it: ``2``, ``"2"`` and ``2.0`` are one value,
    as are ``true`` and ``"True"`` (agents often post every setting as text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in ("true", "false"):
            return text.lower()
        try:
            number = float(text)
        except ValueError:
            return text
        return number if number == number else text  # "nan" stays text
    return value


def same_value(left: Any, right: Any) -> bool:
    return left == right or _canonical(left) == _canonical(right)


def diff(a: dict | None, b: dict | None) -> Diff:
    """Keys added (in ``b`` only), removed (in ``a`` only) and changed between two
    configurations, nested objects compared key by key. Both sides are redacted first."""
    left, right = flatten(redact_data(a or {})), flatten(redact_data(b or {}))
    out = Diff()
    for key in left.keys() | right.keys():
        if key not in right:
            out.removed[key] = left[key]
        elif key not in left:
            out.added[key] = right[key]
        elif not same_value(left[key], right[key]) and not _secret_unknown(left[key], right[key]):
            out.changed[key] = (left[key], right[key])
        else:
            out.same[key] = left[key]
    return out


# --- expected configuration ----------------------------------------------------------------------


@dataclass
class Expected:
    """What the configuration should be, and where that comes from (explained to the user)."""

    values: dict | None
    source: str  # "release", "baseline", "config_set" or "none"
    message: str
    release: Release | None = None
    config_set: ConfigSet | None = None

    def as_reason(self) -> Reason:
        return Reason(
            "expected_configuration",
            self.values is not None,
            self.message,
            {
                "source": self.source,
                "release": self.release.key if self.release else None,
                "config_set": self.config_set.pk if self.config_set else None,
            },
        )


def running_release(service: Service, environment: Environment) -> Release | None:
    """The deploying or deployed release whose latest running/succeeded deployment to
    ``environment`` ships ``service``."""
    deployment = (
        Deployment.objects.filter(
            environment=environment,
            status__in=("running", "succeeded"),
            release__state__in=(ReleaseState.DEPLOYING, ReleaseState.DEPLOYED),
            release__release_services__service=service,
        )
        .select_related("release")
        .order_by("-started_at", "-pk")
        .first()
    )
    return deployment.release if deployment else None


def release_config_set(
    release: Release, service: Service, environment: Environment
) -> ConfigSet | None:
    """The release's configuration set there: the one versioned like the shipped service,
    else the latest one for that service and environment."""
    sets = ConfigSet.objects.filter(service=service, environment=environment)
    shipped = release.release_services.filter(service=service).values_list("version", flat=True)
    return (
        sets.filter(version__in=list(shipped)).order_by("-created", "-pk").first()
        or sets.order_by("-created", "-pk").first()
    )


def expected_configuration(
    service: Service, environment: Environment, release: Release | None = None
) -> Expected:
    """The expected configuration of ``service`` in ``environment`` (see the module rules);
    with ``release``: that release's configuration set, whatever runs there now."""
    release = release or running_release(service, environment)
    if release is not None:
        config_set = release_config_set(release, service, environment)
        if config_set is not None:
            return Expected(
                dict(config_set.values),
                "release",
                f"{release.key} runs in {environment.name}: its configuration set "
                f"v{config_set.version} is expected.",
                release,
                config_set,
            )
    baseline = ConfigBaseline.objects.filter(service=service, environment=environment).first()
    if baseline is not None:
        return Expected(
            dict(baseline.values),
            "baseline",
            f"The last accepted baseline of {service.slug} in {environment.name} is expected.",
        )
    config_set = (
        ConfigSet.objects.filter(service=service, environment=environment)
        .order_by("-created", "-pk")
        .first()
    )
    if config_set is not None:
        return Expected(
            dict(config_set.values),
            "config_set",
            f"No release runs there and no baseline was accepted: the latest configuration set "
            f"v{config_set.version} is expected.",
            config_set=config_set,
        )
    return Expected(
        None,
        "none",
        f"Nothing says how {service.slug} should be configured in {environment.name}: no "
        "release configuration set, baseline or configuration set. Record a configuration set.",
    )


def latest_snapshot(service: Service, environment: Environment) -> ConfigSnapshot | None:
    return (
        ConfigSnapshot.objects.filter(service=service, environment=environment)
        .order_by("-taken_at", "-pk")
        .first()
    )


# --- snapshots and drift items ---------------------------------------------------------------------


@dataclass
class Comparison:
    """What one comparison did: items opened, updated, still open, fixed; and why."""

    snapshot: ConfigSnapshot
    expected: Expected
    opened: list[DriftItem] = field(default_factory=list)
    updated: list[DriftItem] = field(default_factory=list)
    unchanged: list[DriftItem] = field(default_factory=list)
    fixed: list[DriftItem] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)

    @property
    def open_count(self) -> int:
        return len(self.opened) + len(self.updated) + len(self.unchanged)


def record_snapshot(
    user,
    service: Service,
    environment: Environment,
    values: Any,
    source: str = "",
    taken_at: datetime | None = None,
) -> Comparison:
    """Store a redacted snapshot and compare it with the expected configuration (atomic)."""
    errors = values_errors(values)
    if errors:
        raise InvalidValues(
            errors[0], [Reason("values", False, m, {"field": "values"}) for m in errors]
        )
    with transaction.atomic():
        snapshot = ConfigSnapshot.objects.create(
            service=service,
            environment=environment,
            values=redact_data(values),
            source=redact_data(source or "")[:100],
            taken_at=taken_at or timezone.now(),
            posted_by=user if getattr(user, "is_authenticated", False) else None,
        )
        return compare(snapshot, user)


def compare(snapshot: ConfigSnapshot, user=None) -> Comparison:
    """Drift items for ``snapshot`` against the expected configuration (idempotent)."""
    service, environment = snapshot.service, snapshot.environment
    expected = expected_configuration(service, environment)
    result = Comparison(snapshot, expected)
    if expected.values is None:
        return result
    difference = diff(expected.values, snapshot.values)
    found: dict[str, tuple[str, Any, Any]] = {}
    for key, value in difference.removed.items():
        found[key] = (DriftKind.MISSING, value, None)
    for key, value in difference.added.items():
        found[key] = (DriftKind.UNEXPECTED, None, value)
    for key, (left, right) in difference.changed.items():
        found[key] = (DriftKind.CHANGED, left, right)
    with transaction.atomic():
        items = list(
            DriftItem.objects.select_for_update()
            .filter(service=service, environment=environment)
            .exclude(status=DriftStatus.FIXED)
            .order_by("-pk")
        )
        active = {}
        accepted = set()
        for item in items:
            if item.status in ACTIVE:
                active.setdefault(item.key, item)
            else:
                accepted.add((item.key, item.kind, _frozen(item.actual)))
        for key, (kind, exp, act) in sorted(found.items()):
            item = active.pop(key, None)
            if item is None:
                if (key, kind, _frozen(act)) in accepted:
                    result.accepted.append(key)
                    continue
                item = DriftItem(
                    service=service,
                    environment=environment,
                    key=key,
                    kind=kind,
                    expected=exp,
                    actual=act,
                    snapshot=snapshot,
                    release=expected.release,
                )
                item.save_with_reason(f"drift found in snapshot #{snapshot.pk}", user=user)
                result.opened.append(item)
            elif (item.kind, item.expected, item.actual) == (kind, exp, act):
                result.unchanged.append(item)
            else:
                item.kind, item.expected, item.actual = kind, exp, act
                item.snapshot, item.release = snapshot, expected.release
                item.save_with_reason(f"drift changed in snapshot #{snapshot.pk}", user=user)
                result.updated.append(item)
        for item in active.values():
            item.status = DriftStatus.FIXED
            item.snapshot = snapshot
            item.save_with_reason(
                f"no longer differs in snapshot #{snapshot.pk}: marked fixed", user=user
            )
            result.fixed.append(item)
    return result


def _frozen(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


def reconcile(item: DriftItem, user, decision: str, reason: str) -> DriftItem:
    """Accept ``item`` as the new baseline (``accept``) or mark it to fix (``fix``)."""
    reason = (reason or "").strip()
    if decision not in ("accept", "fix"):
        raise InvalidValues(
            "Decide 'accept' (new baseline) or 'fix'.",
            [Reason("decision", False, "Decide 'accept' or 'fix'.", {"field": "decision"})],
        )
    if not reason:
        raise InvalidValues(
            "Say why.",
            [Reason("reason", False, "Say why (a reason is required).", {"field": "reason"})],
        )
    with transaction.atomic():
        item = DriftItem.objects.select_for_update().get(pk=item.pk)
        if item.status not in ACTIVE:
            raise IllegalTransition(
                f"This drift item is {item.get_status_display().lower()}; only open or "
                "to-fix items can be reconciled."
            )
        if decision == "fix" and item.status == DriftStatus.TO_FIX:
            raise IllegalTransition("This drift item is already marked to fix.")
        item.decided_by, item.decided_at, item.reason = user, timezone.now(), reason
        if decision == "accept":
            item.status = DriftStatus.ACCEPTED
            _apply_to_baseline(item, user, reason)
            item.save_with_reason(f"accepted as baseline: {reason}", user=user)
        else:
            item.status = DriftStatus.TO_FIX
            item.save_with_reason(f"to fix: {reason}", user=user)
    return item


def _apply_to_baseline(item: DriftItem, user, reason: str) -> ConfigBaseline:
    baseline = (
        ConfigBaseline.objects.select_for_update()
        .filter(service=item.service, environment=item.environment)
        .first()
    )
    if baseline is None:
        expected = expected_configuration(item.service, item.environment)
        baseline = ConfigBaseline(
            service=item.service,
            environment=item.environment,
            values=flatten(redact_data(expected.values or {})),
        )
    else:
        baseline.values = flatten(baseline.values)
    if item.kind == DriftKind.MISSING:
        baseline.values.pop(item.key, None)
    else:
        baseline.values[item.key] = item.actual
    baseline.save_with_reason(f"{item.key} accepted: {reason}", user=user)
    return baseline


# --- views over the data ------------------------------------------------------------------------


def environment_diff(service: Service, left: Environment, right: Environment) -> dict:
    """The latest snapshots of ``service`` in two environments, side by side."""
    a, b = latest_snapshot(service, left), latest_snapshot(service, right)
    d = diff(a.values if a else {}, b.values if b else {})
    return {"left": a, "right": b, "diff": d}


def expected_diff(service: Service, environment: Environment, release: Release | None = None):
    """The expected configuration (of ``release`` if given) against the latest snapshot."""
    expected = expected_configuration(service, environment, release)
    snapshot = latest_snapshot(service, environment)
    d = diff(expected.values or {}, snapshot.values if snapshot else {})
    return {"expected": expected, "snapshot": snapshot, "diff": d}


def overview() -> tuple[list[dict], list[Environment]]:
    """Per service with snapshots or drift: each environment's open and to-fix counts
    (two queries at any size)."""
    counts = (
        DriftItem.objects.values("service_id", "environment_id")
        .annotate(
            open=Count("pk", filter=Q(status=DriftStatus.OPEN)),
            to_fix=Count("pk", filter=Q(status=DriftStatus.TO_FIX)),
        )
        .order_by()
    )
    snapshots = (
        ConfigSnapshot.objects.values("service_id", "environment_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    cells: dict[tuple[int, int], dict] = {}
    for row in snapshots:
        cells[(row["service_id"], row["environment_id"])] = {
            "open": 0,
            "to_fix": 0,
            "snapshots": row["n"],
        }
    for row in counts:
        cell = cells.setdefault(
            (row["service_id"], row["environment_id"]), {"open": 0, "to_fix": 0, "snapshots": 0}
        )
        cell["open"], cell["to_fix"] = row["open"], row["to_fix"]
    service_ids = {s for s, _e in cells}
    services = Service.objects.filter(pk__in=service_ids).order_by("name")
    environments = list(Environment.objects.order_by("order"))
    return [
        {
            "service": service,
            "cells": [
                {
                    "environment": env,
                    **cells.get((service.pk, env.pk), {"open": 0, "to_fix": 0, "snapshots": 0}),
                }
                for env in environments
            ],
            "open": sum(cells.get((service.pk, env.pk), {}).get("open", 0) for env in environments),
        }
        for service in services
    ], environments
