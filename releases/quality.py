"""Quality gates with exit criteria (curriculum 4.2): do a release's test results in an
environment meet that environment's exit criteria, and may it therefore move on?

A gate's criteria are data (``QualityGate.criteria``); each is compared with the latest result
of its suite for the release in the gate's environment: *pass*, *fail*, or *missing* (no result
yet: the gate waits for the pipeline). A performance run below the gate's share of production
load (``min_load_ratio``) fails as a load shortfall, unless the gate records an accepted
assumption: then it passes and the reason keeps the shortfall and the assumption.

The deployment gate's ``quality_gates`` check for a target environment asks the exit criteria
of the environments before it in the promotion order (what a release must show in staging
before production). Web pages, the API and the demo data all call these functions.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from releasemgr.decisions import Decision, DomainError, Reason, require_permission
from releasemgr.redaction import redact
from releases.models.validation import LOAD_METRICS, METRICS, QualityGate, TestResult

CODE = "quality_gates"
REPORT_PERMISSION = "releases.add_testresult"
GATE_PERMISSIONS = {
    "add": "releases.add_qualitygate",
    "change": "releases.change_qualitygate",
    "delete": "releases.delete_qualitygate",
}
COMPARE = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}
SYMBOL = {"<=": "≤", ">=": "≥", "==": "=", "<": "<", ">": ">"}


class InvalidInput(DomainError):
    """The input makes no sense (HTTP 400). Each reason's ``data["field"]`` names its field."""

    status_code = 400
    code = "invalid"

    @classmethod
    def from_validation(cls, exc: ValidationError) -> InvalidInput:
        pairs = [
            (name, message)
            for name, messages in getattr(exc, "message_dict", {"__all__": exc.messages}).items()
            for message in messages
        ]
        return cls(
            " ".join(m for _f, m in pairs),
            [Reason("invalid", False, m, {"field": f}) for f, m in pairs],
        )


# --- evaluation ---------------------------------------------------------------------------------


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.0f}%"


def _num(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def describe(criterion: dict) -> str:
    """``p95 latency ≤ 300 ms`` for a criterion."""
    label, unit, _suite = METRICS.get(criterion.get("metric"), (criterion.get("metric"), "", ""))
    op = SYMBOL.get(criterion.get("op"), criterion.get("op"))
    return f"{label} {op} {_num(criterion.get('threshold'))}{(' ' + unit) if unit else ''}"


def suite_of(criterion: dict) -> str:
    return criterion.get("suite") or METRICS[criterion["metric"]][2]


def latest_results(results) -> dict[tuple[int, str], TestResult]:
    """The newest result per (environment id, suite) of ``results``."""
    latest: dict[tuple[int, str], TestResult] = {}
    for result in sorted(results, key=lambda r: (r.reported_at, r.pk), reverse=True):
        latest.setdefault((result.environment_id, result.suite), result)
    return latest


def _verdict(gate: QualityGate, criterion: dict, result: TestResult | None) -> Reason:
    suite = suite_of(criterion)
    metric, op, threshold = criterion["metric"], criterion["op"], criterion["threshold"]
    label, unit, _ = METRICS[metric]
    data = {
        "gate": gate.pk,
        "gate_name": gate.name,
        "environment": gate.environment.slug,
        "metric": metric,
        "op": op,
        "threshold": threshold,
        "suite": suite,
        "criterion": describe(criterion),
    }
    where = f"{gate.name} ({gate.environment.name})"
    if result is None:
        data["verdict"] = "missing"
        return Reason(CODE, False, f"{where}: waiting for {suite} results.", data, waits=True)
    value = result.value(metric)
    data.update(result=result.pk, value=value, load_ratio=result.load_ratio)
    if value is None:
        data["verdict"] = "fail"
        return Reason(
            CODE,
            False,
            f"{where}: the latest {suite} result (#{result.pk}) reports no {label.lower()}.",
            data,
        )
    shown = f"{label} {_num(value)}{(' ' + unit) if unit else ''}"
    if not COMPARE[op](value, threshold):
        data["verdict"] = "fail"
        return Reason(
            CODE, False, f"{where}: {shown}, but the gate needs {describe(criterion)}.", data
        )
    message = f"{where}: {shown} ({describe(criterion)})"
    if metric in LOAD_METRICS and gate.min_load_ratio is not None:
        ratio, minimum = result.load_ratio, gate.min_load_ratio
        assumption = gate.load_assumption.strip()
        if ratio is not None and ratio < 1:
            data["shortfall"] = round(1 - ratio, 4)
        if ratio is None or ratio < minimum:
            load = (
                "at an unreported load" if ratio is None else f"at {_pct(ratio)} of production load"
            )
            data["below_minimum"] = True
            if not assumption:
                data["verdict"] = "fail"
                return Reason(
                    CODE,
                    False,
                    f"{message} {load}: load shortfall, the gate needs ≥ {_pct(minimum)}.",
                    data,
                )
            data.update(verdict="pass", assumption=assumption)
            return Reason(
                CODE,
                True,
                f"{message} {load}, below the {_pct(minimum)} asked; accepted assumption: "
                f"{assumption}",
                data,
            )
        message += f" at {_pct(ratio)} of production load"
        if ratio < 1 and assumption:
            data["assumption"] = assumption
            message += f"; assumption: {assumption}"
    data["verdict"] = "pass"
    return Reason(CODE, True, message.rstrip(".") + ".", data)


def evaluate(release, environment, *, gates=None, results=None) -> Decision:
    """Every criterion of every active gate of ``environment`` for ``release``, one reason each.

    Two queries (the gates, the release's results there) unless ``gates``/``results`` are given
    (any environments: they are filtered here).
    """
    if gates is None:
        gates = QualityGate.objects.filter(environment=environment, active=True).select_related(
            "environment"
        )
    gates = [g for g in gates if g.environment_id == environment.pk and g.active]
    decision = Decision()
    if not gates:
        return decision
    if results is None:
        results = TestResult.objects.filter(release=release, environment=environment)
    latest = latest_results(r for r in results if r.environment_id == environment.pk)
    for gate in gates:
        for criterion in gate.criteria:
            decision.add(
                _verdict(gate, criterion, latest.get((environment.pk, suite_of(criterion))))
            )
    return decision


def check_quality_gates(release, environment) -> Reason:
    """The gate's ``quality_gates`` check for deploying ``release`` to ``environment``: the exit
    criteria of every environment before it in the promotion order. Two queries at most."""
    gates = list(
        QualityGate.objects.filter(active=True, environment__order__lt=environment.order)
        .select_related("environment")
        .order_by("environment__order", "name")
    )
    if not gates:
        return Reason(
            CODE,
            True,
            f"No quality gates apply before {environment.name}.",
            {"environments": []},
        )
    envs = list({g.environment_id: g.environment for g in gates}.values())
    results = list(TestResult.objects.filter(release=release, environment__in=envs))
    reasons = [
        r for env in envs for r in evaluate(release, env, gates=gates, results=results).reasons
    ]
    failed = [r for r in reasons if not r.passed]
    names = ", ".join(e.name for e in envs)
    data = {
        "environments": [e.slug for e in envs],
        "criteria": [{"passed": r.passed, **r.data} for r in reasons],
    }
    if not failed:
        assumed = [r.data["assumption"] for r in reasons if r.data.get("below_minimum")]
        extra = f" (load shortfall accepted: {'; '.join(assumed)})" if assumed else ""
        return Reason(
            CODE,
            True,
            f"Exit criteria met in {names}: {len(reasons)} of {len(reasons)} pass{extra}.",
            data,
        )
    waits = all(r.waits for r in failed)
    return Reason(
        CODE,
        False,
        # Several criteria read the same suite: say each message once, in order.
        "Exit criteria not met: " + " ".join(dict.fromkeys(r.message for r in failed)),
        data,
        waits=waits,
    )


@dataclass
class EnvironmentQuality:
    """One environment's gates and latest results for the release page."""

    environment: object
    gates: list = field(default_factory=list)  # [(gate, [Reason])]
    results: list = field(default_factory=list)  # latest per suite

    @property
    def status(self) -> str:
        reasons = [r for _g, rs in self.gates for r in rs]
        if any(not r.passed and not r.waits for r in reasons):
            return "failed"
        if any(not r.passed for r in reasons):
            return "waiting"
        return "passed" if reasons else "none"


def release_quality(release, environments) -> list[EnvironmentQuality]:
    """Per environment (in promotion order): each active gate with a verdict per criterion, and
    the latest result per suite. Two queries, whatever the number of gates and results."""
    gates = list(QualityGate.objects.filter(active=True).select_related("environment"))
    results = list(
        TestResult.objects.filter(release=release).select_related(
            "environment", "service", "reported_by"
        )
    )
    latest = latest_results(results)
    out = []
    for env in environments:
        env_gates = [g for g in gates if g.environment_id == env.pk]
        env_results = sorted(
            (r for (env_id, _s), r in latest.items() if env_id == env.pk), key=lambda r: r.suite
        )
        if not env_gates and not env_results:
            continue
        reasons = evaluate(release, env, gates=env_gates, results=results).reasons
        row = EnvironmentQuality(env, results=env_results)
        for gate in env_gates:
            row.gates.append((gate, [r for r in reasons if r.data["gate"] == gate.pk]))
        out.append(row)
    return out


# --- writes -------------------------------------------------------------------------------------


def report_result(
    release, environment, user, *, idempotency_key: str = "", **fields
) -> tuple[TestResult, bool]:
    """Record a pipeline's test result. Returns (result, created); a repeated
    ``idempotency_key`` from the same user returns the first result and writes nothing."""
    require_permission(user, REPORT_PERMISSION, "report test results")
    if idempotency_key:
        existing = TestResult.objects.filter(
            reported_by=user, idempotency_key=idempotency_key
        ).first()
        if existing:
            return existing, False
    result = TestResult(
        release=release,
        environment=environment,
        reported_by=user,
        idempotency_key=idempotency_key,
        **fields,
    )
    try:
        result.full_clean(exclude=["reported_by", "release", "environment"])
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc
    # Pipelines' free text is redacted before it is stored (after validation: a redacted
    # password no longer makes a valid URL).
    for name in ("suite", "kind", "pipeline_url", "commit"):
        setattr(result, name, redact(getattr(result, name) or ""))
    try:
        with transaction.atomic():
            result.save_with_reason(
                f"{result.suite} {result.status} reported for {environment.slug}", user=user
            )
    except IntegrityError:
        existing = TestResult.objects.filter(
            reported_by=user, idempotency_key=idempotency_key
        ).first()
        if idempotency_key and existing:
            return existing, False
        raise
    return result, True


def save_gate(gate: QualityGate, user, reason: str = "") -> QualityGate:
    """Create or change a quality gate after checking its criteria."""
    require_permission(user, GATE_PERMISSIONS["change" if gate.pk else "add"], "edit quality gates")
    try:
        gate.full_clean()
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from exc
    with transaction.atomic():
        gate.save_with_reason(reason or ("changed" if gate.pk else "created"), user=user)
    return gate


def delete_gate(gate: QualityGate, user) -> None:
    require_permission(user, GATE_PERMISSIONS["delete"], "delete quality gates")
    with transaction.atomic():
        gate._change_reason = "deleted"
        gate._history_user = user
        gate.delete()
