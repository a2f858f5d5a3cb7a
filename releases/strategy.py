"""Which deployment strategy fits this release in this environment? (curriculum 5.1)

``advise`` weighs blue-green, canary and rolling against what the release and its
environment can support, and says why for and against each:

- the release's **risk band** (its latest recorded assessment, else scored now): the
  riskier the release, the more it is worth exposing it gradually (canary) or keeping
  the old version ready to switch back to (blue-green);
- **monitoring readiness** of each service: a canary is only as good as the numbers
  that judge it, so it needs KPIs defined for every service and samples received in
  the target environment within ``MONITORING_FRESHNESS``;
- **spare capacity** of the environment: blue-green runs two full copies side by side
  and needs about ``BLUE_GREEN_SPARE_PERCENT`` spare capacity;
- **HA needs**: services that must stay available cannot be recreated (stop everything,
  then start), which is why recreate is never advised.

A canary carries steps (share of traffic and how long to hold each before going on);
their defaults follow the risk band and ``validate_canary_steps`` is the one rule for
them (ascending percentages ending at 100, holds of 0 minutes or more).

``apply`` writes the advice onto a deployment being started (called by
``releases.lifecycle.start_deployment``): the strategy chosen, the advised one, whether
the advice was overridden, the reasons, the canary steps and the change record (the
decision-log entry of the approval the deployment executes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from governance.choices import DecisionKind, RiskBand
from releasemgr.decisions import DomainError, Reason
from releases.choices import DeploymentStrategy

MONITORING_FRESHNESS = timedelta(hours=24)
BLUE_GREEN_SPARE_PERCENT = 100
MAX_CANARY_STEPS = 10
ADVISED = (DeploymentStrategy.BLUE_GREEN, DeploymentStrategy.CANARY, DeploymentStrategy.ROLLING)

# Order of preference per risk band, before feasibility is checked.
PREFERENCE = {
    RiskBand.CRITICAL: [
        DeploymentStrategy.CANARY,
        DeploymentStrategy.BLUE_GREEN,
        DeploymentStrategy.ROLLING,
    ],
    RiskBand.HIGH: [
        DeploymentStrategy.CANARY,
        DeploymentStrategy.BLUE_GREEN,
        DeploymentStrategy.ROLLING,
    ],
    RiskBand.MEDIUM: [
        DeploymentStrategy.BLUE_GREEN,
        DeploymentStrategy.CANARY,
        DeploymentStrategy.ROLLING,
    ],
    RiskBand.LOW: [
        DeploymentStrategy.ROLLING,
        DeploymentStrategy.BLUE_GREEN,
        DeploymentStrategy.CANARY,
    ],
}

# Default canary steps per risk band: (percent, hold minutes); the last step is 100 %.
DEFAULT_STEPS = {
    RiskBand.LOW: [(10, 10), (100, 0)],
    RiskBand.MEDIUM: [(5, 15), (25, 15), (100, 0)],
    RiskBand.HIGH: [(5, 30), (25, 30), (50, 30), (100, 0)],
    RiskBand.CRITICAL: [(1, 60), (5, 60), (25, 60), (50, 60), (100, 0)],
}


class InvalidCanarySteps(DomainError):
    """Canary steps that break the rule (HTTP 400)."""

    status_code = 400
    code = "invalid"


@dataclass
class Option:
    """One strategy with the reasons for (passed) and against (failed) it."""

    strategy: str
    reasons: list[Reason] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return all(r.passed for r in self.reasons if r.data.get("required"))

    @property
    def label(self) -> str:
        return DeploymentStrategy(self.strategy).label

    def as_dict(self) -> dict:
        return {
            "strategy": self.strategy,
            "feasible": self.feasible,
            "reasons": [
                {"code": r.code, "passed": r.passed, "message": r.message, "data": r.data}
                for r in self.reasons
            ],
        }


@dataclass
class Advice:
    recommended: str
    risk_band: str
    options: list[Option]
    canary_steps: list[dict]
    summary: str
    risk_source: str = ""

    @property
    def recommended_label(self) -> str:
        return DeploymentStrategy(self.recommended).label

    def option(self, strategy: str) -> Option | None:
        return next((o for o in self.options if o.strategy == strategy), None)

    def as_dict(self) -> dict:
        return {
            "recommended": self.recommended,
            "risk_band": self.risk_band,
            "risk_source": self.risk_source,
            "summary": self.summary,
            "canary_steps": self.canary_steps,
            "options": [o.as_dict() for o in self.options],
        }


def default_canary_steps(band: str) -> list[dict]:
    return [
        {"percent": p, "hold_minutes": h}
        for p, h in DEFAULT_STEPS.get(band, DEFAULT_STEPS[RiskBand.MEDIUM])
    ]


def validate_canary_steps(steps) -> list[dict]:
    """The steps, normalised, or ``InvalidCanarySteps`` saying what is wrong."""

    def bad(message: str):
        raise InvalidCanarySteps(
            message, [Reason("canary_steps", False, message, {"field": "canary_steps"})]
        )

    if not isinstance(steps, list) or not steps:
        bad("Canary steps must be a non-empty list of {percent, hold_minutes}.")
    if len(steps) > MAX_CANARY_STEPS:
        bad(f"A canary has at most {MAX_CANARY_STEPS} steps.")
    out: list[dict] = []
    for n, step in enumerate(steps, start=1):
        if not isinstance(step, dict) or set(step) - {"percent", "hold_minutes"}:
            bad(f"Step {n}: give exactly 'percent' and 'hold_minutes'.")
        percent, hold = step.get("percent"), step.get("hold_minutes", 0)
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 100:
            bad(f"Step {n}: percent must be a whole number from 1 to 100.")
        if isinstance(hold, bool) or not isinstance(hold, int) or hold < 0:
            bad(f"Step {n}: hold_minutes must be a whole number of minutes, 0 or more.")
        if out and percent <= out[-1]["percent"]:
            bad(f"Step {n}: percentages must go up ({percent}% after {out[-1]['percent']}%).")
        out.append({"percent": percent, "hold_minutes": hold})
    if out[-1]["percent"] != 100:
        bad(f"The last step must send 100% of traffic (it is {out[-1]['percent']}%).")
    return out


def parse_steps_text(text: str) -> list[dict]:
    """Steps as a person types them: ``5:30, 25:30, 100`` (percent[:hold minutes])."""
    steps = []
    for n, part in enumerate((p.strip() for p in text.replace("\n", ",").split(",")), start=1):
        if not part:
            continue
        percent, _, hold = part.rstrip("%").partition(":")
        try:
            steps.append(
                {
                    "percent": int(percent.strip().rstrip("%")),
                    "hold_minutes": int(hold.strip() or 0),
                }
            )
        except ValueError:
            raise InvalidCanarySteps(
                f"Step {n} ('{part}'): write percent:hold-minutes, e.g. 25:30.",
                [Reason("canary_steps", False, "Unreadable step.", {"field": "canary_steps"})],
            ) from None
    return validate_canary_steps(steps)


def steps_text(steps: list[dict]) -> str:
    return ", ".join(f"{s['percent']}:{s['hold_minutes']}" for s in steps)


# --- the facts --------------------------------------------------------------------------------


def risk_band(release) -> tuple[str, str]:
    """The band the release was approved on (its latest recorded assessment), else the release
    scored now; with where it comes from."""
    latest = release.risk_assessments.order_by("-created").first()
    if latest is not None:
        return latest.band, f"assessed at submission {latest.round}"
    from governance import risk

    return risk.assess(release).band, "scored now"


def monitoring_readiness(services, environment, at: datetime) -> dict[int, dict]:
    """Per service: how many KPIs it has and whether samples arrived here recently."""
    from metrics.models import Kpi, KpiSample

    ids = [s.pk for s in services]
    kpis: dict[int, int] = {}
    for service_id in Kpi.objects.filter(service_id__in=ids).values_list("service_id", flat=True):
        kpis[service_id] = kpis.get(service_id, 0) + 1
    fresh = set(
        KpiSample.objects.filter(
            kpi__service_id__in=ids,
            environment=environment,
            measured_at__gte=at - MONITORING_FRESHNESS,
        )
        .values_list("kpi__service_id", flat=True)
        .distinct()
    )
    return {s.pk: {"kpis": kpis.get(s.pk, 0), "receiving": s.pk in fresh} for s in services}


# --- the advice -------------------------------------------------------------------------------


def advise(release, environment, at: datetime | None = None) -> Advice:
    """Recommend blue-green, canary or rolling for ``release`` in ``environment``, with why."""
    at = at or timezone.now()
    services = [rs.service for rs in release.release_services.select_related("service")]
    band, band_source = risk_band(release)
    readiness = monitoring_readiness(services, environment, at)
    spare = environment.spare_capacity_percent
    ha = [s.slug for s in services if s.ha_required]
    customer = [s.slug for s in services if s.customer_facing]
    high_risk = band in (RiskBand.HIGH, RiskBand.CRITICAL)

    band_reason = {
        DeploymentStrategy.BLUE_GREEN: Reason(
            "risk_band",
            band != RiskBand.LOW,
            f"Risk is {band}: "
            + (
                "switching traffic back to the old copy at once is worth the spare capacity."
                if band != RiskBand.LOW
                else "a low-risk release rarely needs a standby copy."
            ),
            {"band": band},
        ),
        DeploymentStrategy.CANARY: Reason(
            "risk_band",
            band != RiskBand.LOW,
            f"Risk is {band}: "
            + (
                "exposing a small share of traffic first limits the damage."
                if band != RiskBand.LOW
                else "gradual exposure adds time a low-risk release does not need."
            ),
            {"band": band},
        ),
        DeploymentStrategy.ROLLING: Reason(
            "risk_band",
            not high_risk,
            f"Risk is {band}: "
            + (
                "a rolling update is proportionate."
                if not high_risk
                else "every user reaches the new version within one rollout, with no quick way back."
            ),
            {"band": band},
        ),
    }

    blue_green = Option(DeploymentStrategy.BLUE_GREEN, [band_reason[DeploymentStrategy.BLUE_GREEN]])
    if spare is None:
        blue_green.reasons.append(
            Reason(
                "capacity",
                False,
                f"{environment.name} has no spare capacity recorded; blue-green needs about "
                f"{BLUE_GREEN_SPARE_PERCENT}% to run both copies.",
                {"required": True, "spare_percent": None, "needed": BLUE_GREEN_SPARE_PERCENT},
            )
        )
    else:
        enough = spare >= BLUE_GREEN_SPARE_PERCENT
        blue_green.reasons.append(
            Reason(
                "capacity",
                enough,
                f"{environment.name} has {spare}% spare capacity; blue-green needs about "
                f"{BLUE_GREEN_SPARE_PERCENT}%.",
                {"required": True, "spare_percent": spare, "needed": BLUE_GREEN_SPARE_PERCENT},
            )
        )
    if ha:
        blue_green.reasons.append(
            Reason(
                "ha",
                True,
                f"{', '.join(ha)} must stay available: blue-green switches with no downtime.",
                {"services": ha},
            )
        )

    canary = Option(DeploymentStrategy.CANARY, [band_reason[DeploymentStrategy.CANARY]])
    no_kpis = [s.slug for s in services if not readiness[s.pk]["kpis"]]
    silent = [
        s.slug for s in services if readiness[s.pk]["kpis"] and not readiness[s.pk]["receiving"]
    ]
    hours = int(MONITORING_FRESHNESS.total_seconds() // 3600)
    if no_kpis or silent:
        parts = []
        if no_kpis:
            parts.append(f"no KPIs defined for {', '.join(no_kpis)}")
        if silent:
            parts.append(
                f"no KPI samples from {', '.join(silent)} in {environment.name} in the last {hours} h"
            )
        canary.reasons.append(
            Reason(
                "monitoring",
                False,
                "A canary is judged by its numbers, but there are " + " and ".join(parts) + ".",
                {"required": True, "no_kpis": no_kpis, "not_receiving": silent},
            )
        )
    else:
        canary.reasons.append(
            Reason(
                "monitoring",
                True,
                f"Every service has KPIs and sent samples from {environment.name} in the last "
                f"{hours} h.",
                {"required": True, "services": [s.slug for s in services]},
            )
        )
    if customer:
        canary.reasons.append(
            Reason(
                "customer_facing",
                True,
                f"Customer-facing ({', '.join(customer)}): a canary limits how many see a fault.",
                {"services": customer},
            )
        )

    rolling = Option(DeploymentStrategy.ROLLING, [band_reason[DeploymentStrategy.ROLLING]])
    rolling.reasons.append(
        Reason(
            "capacity",
            True,
            "Rolling replaces nodes in turn and needs no second copy of the services.",
            {"required": True, "spare_percent": spare},
        )
    )
    if ha:
        rolling.reasons.append(
            Reason(
                "ha",
                True,
                f"High availability ({', '.join(ha)}): kept available while nodes are replaced one at a "
                "time.",
                {"services": ha},
            )
        )

    options = {o.strategy: o for o in (blue_green, canary, rolling)}
    preference = PREFERENCE.get(band, PREFERENCE[RiskBand.MEDIUM])
    recommended = next(s for s in preference if options[s].feasible)
    chosen = options[recommended]
    skipped = [options[s] for s in preference[: preference.index(recommended)]]
    summary = f"{chosen.label} for a {band}-risk release in {environment.name}"
    if skipped:
        summary += "; not " + ", ".join(
            f"{o.label.lower()} ({'; '.join(r.message.rstrip('.') for r in o.reasons if not r.passed and r.data.get('required'))})"
            for o in skipped
        )
    return Advice(
        recommended=recommended,
        risk_band=band,
        risk_source=band_source,
        options=[options[s] for s in preference],
        canary_steps=default_canary_steps(band),
        summary=summary + ".",
    )


def approval_record(release):
    """The decision-log entry of the approval the release's deployments execute: the latest
    approval (or standard-change pre-approval) of the release."""
    from governance.models import DecisionRecord

    return (
        DecisionRecord.objects.filter(
            release_key=release.key,
            kind__in=[DecisionKind.APPROVAL, DecisionKind.STANDARD_CHANGE],
            outcome="approved",
        )
        .order_by("-sequence")
        .first()
    )


def apply(deployment, release, environment, strategy: str = "", canary_steps=None) -> Advice:
    """Record the advice on a deployment being started, and the strategy actually chosen."""
    advice = advise(release, environment)
    chosen = strategy or advice.recommended
    deployment.strategy = chosen
    deployment.advised_strategy = advice.recommended
    deployment.advice_overridden = chosen != advice.recommended
    deployment.advice_reasons = [
        {"strategy": o.strategy, **r} for o in advice.options for r in o.as_dict()["reasons"]
    ]
    if chosen == DeploymentStrategy.CANARY:
        deployment.canary_steps = validate_canary_steps(
            canary_steps if canary_steps else advice.canary_steps
        )
    elif canary_steps:
        raise InvalidCanarySteps(
            "Canary steps apply only to a canary deployment; choose the canary strategy or "
            "leave the steps out.",
            [Reason("canary_steps", False, "Steps without a canary.", {"field": "canary_steps"})],
        )
    else:
        deployment.canary_steps = []
    deployment.change_record = approval_record(release)
    return advice


def clean_form_steps(form, data: dict) -> dict:
    """The deploy form's canary steps: text → steps, or a field error saying what is wrong."""
    text = (data.get("canary_steps") or "").strip()
    data["canary_steps"] = None
    if not text:
        return data
    if data.get("strategy") != DeploymentStrategy.CANARY:
        form.add_error(
            "canary_steps", "Canary steps apply only to the canary strategy; clear them or pick it."
        )
        return data
    try:
        data["canary_steps"] = parse_steps_text(text)
    except InvalidCanarySteps as exc:
        form.add_error("canary_steps", exc.message)
    return data
