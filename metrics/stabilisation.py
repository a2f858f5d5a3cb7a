"""The stabilisation window (curriculum 6.1, the 72-hour KPI watch): when it opens, what each
KPI's limit is, whether a KPI breached it, and the verdict when the window closes.

Rules (each answer explains itself with ``Reason`` objects):

- A window opens when a production deployment succeeds and lasts ``STABILISATION_HOURS``
  (72 by default); a release manager may change a window's length (the per-release override).
- A KPI's limit is its ``threshold`` when it has one. Otherwise it is the pre-release baseline
  (the median of the KPI's samples in the ``STABILISATION_BASELINE_HOURS`` before the deployment
  started, in the deployment's environment) worsened by ``tolerance_percent``: up for a KPI where
  higher is worse, down where lower is worse. Without threshold and baseline a KPI cannot breach.
- A sample taken between the deployment's success and the window's end past the limit (strictly)
  is a breach; consecutive breaching samples are one breach episode (one alert).
- The verdict: ``breached`` if any KPI breached; otherwise ``no_data`` if any KPI (or the
  release's services as a whole) has no sample in the window; otherwise ``stable``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from metrics.models import Kpi, KpiAlert, KpiSample, StabilisationWindow
from metrics.models.kpis import KpiDirection
from metrics.models.stabilisation import Verdict, WindowState
from releasemgr.decisions import Decision, DomainError, IllegalTransition, NotPermitted, Reason

CHANGE_PERMISSION = "metrics.change_stabilisationwindow"
ACKNOWLEDGE_PERMISSION = "metrics.change_kpialert"
MAX_HOURS = 24 * 30


def window_hours() -> int:
    return int(getattr(settings, "STABILISATION_HOURS", 72))


def baseline_hours() -> int:
    return int(getattr(settings, "STABILISATION_BASELINE_HOURS", 24))


def open_window(deployment, user=None) -> StabilisationWindow | None:
    """Open the watch for a succeeded production deployment (idempotent: one per deployment).

    Called from ``releases.lifecycle.record_event`` inside its transaction.
    """
    if not deployment.environment.is_production:
        return None
    existing = StabilisationWindow.objects.filter(deployment=deployment).first()
    if existing is not None:
        return existing
    opened = deployment.finished_at or timezone.now()
    hours = window_hours()
    window = StabilisationWindow(
        release=deployment.release,
        deployment=deployment,
        opened_at=opened,
        hours=hours,
        ends_at=opened + timedelta(hours=hours),
        baseline_hours=baseline_hours(),
    )
    window.save_with_reason(f"deployment #{deployment.pk} succeeded in production", user=user)
    return window


@dataclass
class KpiResult:
    """One KPI's standing in a window: the numbers the chart and the reason show."""

    kpi: Kpi
    baseline: float | None
    limit: float | None
    samples: list = field(default_factory=list)  # (measured_at, value) inside the window
    baseline_samples: list = field(default_factory=list)  # before the deployment
    breaches: list = field(default_factory=list)  # [{"start", "end", "worst"}]
    reason: Reason | None = None

    @property
    def latest(self) -> float | None:
        return self.samples[-1][1] if self.samples else None


@dataclass
class Evaluation(Decision):
    """Per-KPI reasons and the verdict the window would get if it closed now."""

    verdict: str = Verdict.NO_DATA
    kpis: list[KpiResult] = field(default_factory=list)


def baseline_period(window: StabilisationWindow) -> tuple[datetime, datetime]:
    started = window.deployment.started_at
    return started - timedelta(hours=window.baseline_hours), started


def limit_for(kpi: Kpi, baseline: float | None) -> float | None:
    """The threshold, or the baseline worsened by the tolerance; None when neither exists."""
    if kpi.threshold is not None:
        return kpi.threshold
    if baseline is None:
        return None
    factor = kpi.tolerance_percent / 100.0
    if kpi.direction == KpiDirection.LOWER_IS_WORSE:
        return baseline - abs(baseline) * factor
    return baseline + abs(baseline) * factor


def is_breach(kpi: Kpi, value: float, limit: float | None) -> bool:
    if limit is None:
        return False
    if kpi.direction == KpiDirection.LOWER_IS_WORSE:
        return value < limit
    return value > limit


def breach_episodes(kpi: Kpi, samples, limit: float | None) -> list[dict]:
    """Runs of consecutive breaching samples: start, end and worst value of each."""
    episodes: list[dict] = []
    current = None
    worse = min if kpi.direction == KpiDirection.LOWER_IS_WORSE else max
    for measured_at, value in samples:
        if is_breach(kpi, value, limit):
            if current is None:
                current = {"start": measured_at, "end": measured_at, "worst": value}
                episodes.append(current)
            else:
                current["end"] = measured_at
                current["worst"] = worse(current["worst"], value)
        else:
            current = None
    return episodes


def window_kpis(window: StabilisationWindow):
    """KPIs of the services the release ships."""
    return (
        Kpi.objects.filter(service__release_links__release_id=window.release_id)
        .select_related("service")
        .distinct()
        .order_by("service__slug", "name")
    )


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}{'' if unit in ('%',) else ' '}{unit}".strip()


def evaluate(window: StabilisationWindow, now: datetime | None = None) -> Evaluation:
    """Compare every KPI of the release's services with its limit over the window so far.

    Three queries whatever the number of KPIs and samples.
    """
    now = now or timezone.now()
    result = Evaluation()
    kpis = list(window_kpis(window))
    base_from, base_until = baseline_period(window)
    until = min(now, window.ends_at)
    by_kpi: dict[int, list] = {k.pk: [] for k in kpis}
    rows = (
        KpiSample.objects.filter(
            kpi_id__in=by_kpi,
            environment_id=window.deployment.environment_id,
            measured_at__gte=base_from,
            measured_at__lte=until,
        )
        .order_by("measured_at", "pk")
        .values_list("kpi_id", "measured_at", "value")
    )
    for kpi_id, measured_at, value in rows:
        by_kpi[kpi_id].append((measured_at, value))
    if not kpis:
        result.add(
            Reason(
                "no_kpis",
                True,
                f"No KPIs are defined for the services {window.release.key} ships: "
                "nothing to watch.",
            )
        )
    any_breach = any_missing = False
    for kpi in kpis:
        samples = by_kpi[kpi.pk]
        before = [(t, v) for t, v in samples if base_from <= t < base_until]
        inside = [(t, v) for t, v in samples if t >= window.opened_at]
        baseline = statistics.median(v for _, v in before) if before else None
        limit = limit_for(kpi, baseline)
        episodes = breach_episodes(kpi, inside, limit)
        item = KpiResult(kpi, baseline, limit, inside, before, episodes)
        data = {
            "kpi": kpi.pk,
            "service": kpi.service.slug,
            "name": kpi.name,
            "unit": kpi.unit,
            "direction": kpi.direction,
            "threshold": kpi.threshold,
            "tolerance_percent": kpi.tolerance_percent,
            "baseline": baseline,
            "baseline_samples": len(before),
            "limit": limit,
            "samples": len(inside),
            "latest": item.latest,
            "breaches": [
                {"start": e["start"].isoformat(), "end": e["end"].isoformat(), "worst": e["worst"]}
                for e in episodes
            ],
        }
        label = f"{kpi.service.slug} {kpi.name}"
        worse_word = "below" if kpi.direction == KpiDirection.LOWER_IS_WORSE else "above"
        if kpi.threshold is not None:
            basis = f"threshold {_fmt(kpi.threshold, kpi.unit)}"
        elif baseline is not None:
            basis = (
                f"baseline {_fmt(baseline, kpi.unit)} (median of {len(before)} samples in the "
                f"{window.baseline_hours} h before the deployment) "
                f"{'−' if worse_word == 'below' else '+'}{kpi.tolerance_percent:g} % "
                f"= {_fmt(round(limit, 6), kpi.unit)}"
            )
        else:
            basis = None
        if episodes:
            any_breach = True
            worst = episodes[0]["worst"]
            for e in episodes:
                worst = (min if worse_word == "below" else max)(worst, e["worst"])
            reason = Reason(
                "kpi_breached",
                False,
                f"{label} went {worse_word} its {basis}: worst {_fmt(worst, kpi.unit)}, "
                f"{len(episodes)} breach{'es' if len(episodes) > 1 else ''} since "
                f"{episodes[0]['start']:%Y-%m-%d %H:%M} UTC.",
                data,
            )
        elif not inside:
            any_missing = True
            reason = Reason(
                "kpi_no_data",
                True,
                f"{label}: no sample since the deployment; it cannot be called stable.",
                data,
            )
        elif basis is None:
            reason = Reason(
                "kpi_no_baseline",
                True,
                f"{label}: no threshold and no sample in the {window.baseline_hours} h before the "
                f"deployment, so there is nothing to compare with (latest "
                f"{_fmt(item.latest, kpi.unit)}).",
                data,
            )
        else:
            reason = Reason(
                "kpi_within_limits",
                True,
                f"{label} stayed within its {basis}: {len(inside)} samples, latest "
                f"{_fmt(item.latest, kpi.unit)}.",
                data,
            )
        item.reason = result.add(reason)
        result.kpis.append(item)
    if any_breach:
        result.verdict = Verdict.BREACHED
    elif any_missing or not kpis:
        result.verdict = Verdict.NO_DATA
    else:
        result.verdict = Verdict.STABLE
    return result


def close_window(window: StabilisationWindow, now: datetime | None = None, user=None):
    """Close a window whose end has passed, with its verdict (once: a second call is a no-op).

    Returns the closed window, or None when it was not due or already closed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            StabilisationWindow.objects.select_for_update(of=("self",))
            .select_related("release", "deployment")
            .filter(pk=window.pk, state=WindowState.OPEN, ends_at__lte=now)
            .first()
        )
        if locked is None:
            return None
        evaluation = evaluate(locked, now)
        alerts = list(locked.alerts.values_list("pk", flat=True))
        locked.state = WindowState.CLOSED
        locked.verdict = evaluation.verdict
        locked.closed_at = now
        locked.reasons = [r.as_dict() for r in evaluation.reasons]
        locked.evaluated_at = now
        locked.save_with_reason(f"closed: {Verdict(evaluation.verdict).label.lower()}", user=user)
        from governance import decision_log
        from governance.choices import DecisionKind

        decision_log.append(
            DecisionKind.STABILISATION,
            evaluation.verdict,
            f"{locked.release.key}: stabilisation window closed "
            f"{Verdict(evaluation.verdict).label.lower()} after {locked.hours} h.",
            actor=user,
            release=locked.release,
            subject=f"stabilisation-window:{locked.pk}",
            reasons=evaluation.reasons,
            data={"window": locked.pk, "deployment": locked.deployment_id, "alerts": alerts},
        )
    return locked


def set_hours(window: StabilisationWindow, user, hours: int, reason: str = ""):
    """Shorten or extend an open window (the per-release override of ``STABILISATION_HOURS``)."""
    if not user.has_perm(CHANGE_PERMISSION):
        raise NotPermitted("Only a release manager may change a stabilisation window.")
    if not isinstance(hours, int) or hours < 1 or hours > MAX_HOURS:
        raise DomainError(
            f"A window lasts between 1 and {MAX_HOURS} hours.",
            [Reason("hours", False, f"Between 1 and {MAX_HOURS} hours.", {"field": "hours"})],
        )
    with transaction.atomic():
        locked = StabilisationWindow.objects.select_for_update().get(pk=window.pk)
        if locked.state != WindowState.OPEN:
            raise IllegalTransition(
                f"The window closed {locked.closed_at:%Y-%m-%d %H:%M} with verdict "
                f"{locked.get_verdict_display().lower()}; it cannot change any more."
            )
        locked.hours = hours
        locked.ends_at = locked.opened_at + timedelta(hours=hours)
        locked.save_with_reason(reason or f"window set to {hours} h", user=user)
    return locked


def acknowledge(alert: KpiAlert, user, note: str = "") -> KpiAlert:
    """A release manager has seen the alert (and says what is being done)."""
    if not user.has_perm(ACKNOWLEDGE_PERMISSION):
        raise NotPermitted("Only a release manager may acknowledge a KPI alert.")
    with transaction.atomic():
        locked = KpiAlert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is not None:
            raise IllegalTransition(
                f"Alert #{locked.pk} was already acknowledged "
                f"{locked.acknowledged_at:%Y-%m-%d %H:%M}."
            )
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = user
        locked.acknowledgement = note[:300]
        locked.save_with_reason(f"acknowledged{': ' + note[:80] if note else ''}", user=user)
    return locked
