"""Data integrity checks (curriculum 6.3): does the data still add up after the release's batch
or ETL jobs ran?

A job posts the value it measured before and after the change; ``evaluate`` decides whether
the check passed (never the client). A release whose checks have not all passed on their
latest result cannot be closed (``require_passed_for_close``, called by the lifecycle's
``close``). A release that changes batch or ETL jobs (a scope item of kind ``batch_job``)
without any check is flagged on its page (``missing_checks_warning``).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery

from metrics.models import IntegrityCheck, IntegrityResult
from metrics.models.integrity import IntegrityKind, IntegrityRelation
from releasemgr.decisions import (  # noqa: F401
    Decision,
    DomainError,
    IllegalTransition,
    InvalidInput,
    Reason,
    require_permission,
)
from releasemgr.redaction import redact
from releases.choices import ReleaseState, ScopeDecision, ScopeKind
from releases.models import Release

CODE = "data_integrity"
ADD_PERMISSION = "metrics.add_integritycheck"
CHANGE_PERMISSION = "metrics.change_integritycheck"
DELETE_PERMISSION = "metrics.delete_integritycheck"
POST_PERMISSION = "metrics.add_integrityresult"
EDITABLE_FIELDS = (
    "name",
    "service",
    "job_name",
    "kind",
    "relation",
    "tolerance_percent",
    "expected_value",
    "description",
)
# Once closed or cancelled, a release's checks are a record.
FINISHED_STATES = (ReleaseState.CLOSED, ReleaseState.CANCELLED)


def _number(value: str) -> Decimal | None:
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _fmt(number: Decimal) -> str:
    return format(number.normalize(), "f") if number == number.to_integral() else str(number)


def _deviation(value: Decimal, reference: Decimal) -> Decimal | None:
    """How far ``value`` is from ``reference``, in percent (None: any change from zero)."""
    if reference == 0:
        return Decimal(0) if value == 0 else None
    return abs(value - reference) / abs(reference) * 100


def evaluate(check: IntegrityCheck, before: str, after: str) -> Reason:
    """Did the data pass ``check``? Raises ``InvalidInput`` when the values cannot be compared
    the way the check says (a number expected)."""
    before, after = (before or "").strip(), (after or "").strip()
    if not after:
        raise InvalidInput.of({"after_value": ["Give the value measured after the change."]})
    numeric = check.kind != IntegrityKind.CHECKSUM
    if check.relation in (IntegrityRelation.EQUAL, IntegrityRelation.WITHIN_TOLERANCE):
        if not before:
            raise InvalidInput.of(
                {"before_value": ["Give the value measured before the change to compare with."]}
            )
        if not numeric:
            passed = before == after
            message = (
                "Checksums match."
                if passed
                else f"Checksum changed: {before} before, {after} after."
            )
            return Reason(CODE, passed, message, {"before": before, "after": after})
        b, a = _number(before), _number(after)
        errors = {}
        if b is None:
            errors["before_value"] = [f"'{before}' is not a number."]
        if a is None:
            errors["after_value"] = [f"'{after}' is not a number."]
        if errors:
            raise InvalidInput.of(errors)
        if check.relation == IntegrityRelation.EQUAL:
            passed = a == b
            message = (
                f"{_fmt(a)} after equals {_fmt(b)} before."
                if passed
                else f"{_fmt(a)} after differs from {_fmt(b)} before by {_fmt(a - b)}."
            )
            return Reason(CODE, passed, message, {"before": before, "after": after})
        tolerance = Decimal(str(check.tolerance_percent))
        deviation = _deviation(a, b)
        passed = deviation is not None and deviation <= tolerance
        shown = "∞" if deviation is None else f"{deviation:.2f}"
        message = (
            f"{_fmt(a)} after vs {_fmt(b)} before: {shown}% off, "
            f"{'within' if passed else 'beyond'} the {check.tolerance_percent:g}% tolerance."
        )
        return Reason(
            CODE,
            passed,
            message,
            {
                "before": before,
                "after": after,
                "deviation_percent": None if deviation is None else float(round(deviation, 4)),
            },
        )
    # Expected value.
    expected = check.expected_value.strip()
    e, a = _number(expected), _number(after)
    if numeric and e is not None:
        if a is None:
            raise InvalidInput.of({"after_value": [f"'{after}' is not a number."]})
        tolerance = Decimal(str(check.tolerance_percent))
        deviation = _deviation(a, e)
        passed = deviation is not None and deviation <= tolerance
        message = f"{_fmt(a)} after, {_fmt(e)} expected" + (
            f" (tolerance {check.tolerance_percent:g}%)." if check.tolerance_percent else "."
        )
        return Reason(CODE, passed, message, {"after": after, "expected": expected})
    passed = after == expected
    message = f"'{after}' after, '{expected}' expected."
    return Reason(CODE, passed, message, {"after": after, "expected": expected})


# --- checks ---------------------------------------------------------------------------------


def _require_open(release: Release) -> None:
    if release.state in FINISHED_STATES:
        raise IllegalTransition(
            f"{release.key} is {release.get_state_display().lower()}; its integrity checks can "
            "no longer change."
        )


def _save(check: IntegrityCheck, user, reason: str) -> IntegrityCheck:
    check.description = redact(check.description or "")
    try:
        check.full_clean(exclude=["release", "created_by"])
        check.validate_constraints()
    except ValidationError as exc:
        errors = exc.message_dict
        if "__all__" in errors:
            errors["name"] = ["The release already has a check with this name."]
            del errors["__all__"]
        raise InvalidInput.of(errors) from exc
    check.save_with_reason(reason, user=user)
    return check


def add_check(release: Release, user, **data) -> IntegrityCheck:
    require_permission(user, ADD_PERMISSION, "add integrity checks")
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=release.pk)
        _require_open(release)
        check = IntegrityCheck(release=release, created_by=user)
        for name, value in data.items():
            if name in EDITABLE_FIELDS:
                setattr(check, name, value.strip() if isinstance(value, str) else value)
        if check.tolerance_percent is None:
            check.tolerance_percent = 0
        return _save(check, user, "integrity check added")


def edit_check(check: IntegrityCheck, user, **changes) -> IntegrityCheck:
    require_permission(user, CHANGE_PERMISSION, "change integrity checks")
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=check.release_id)
        _require_open(release)
        check = IntegrityCheck.objects.get(pk=check.pk)
        for name, value in changes.items():
            if name in EDITABLE_FIELDS:
                setattr(check, name, value.strip() if isinstance(value, str) else value)
        return _save(check, user, "integrity check edited")


def delete_check(check: IntegrityCheck, user) -> None:
    require_permission(user, DELETE_PERMISSION, "delete integrity checks")
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=check.release_id)
        _require_open(release)
        check._change_reason = "integrity check removed"
        check.delete()


def post_result(
    check: IntegrityCheck,
    user,
    *,
    before_value: str = "",
    after_value: str,
    query_name: str = "",
    query_result: str = "",
) -> IntegrityResult:
    """Record a job's measurement; whether it passed is computed here."""
    require_permission(user, POST_PERMISSION, "post integrity results")
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=check.release_id)
        _require_open(release)
        verdict = evaluate(check, before_value, after_value)
        result = IntegrityResult(
            integrity_check=check,
            before_value=redact((before_value or "").strip())[:200],
            after_value=redact((after_value or "").strip())[:200],
            query_name=redact((query_name or "").strip())[:200],
            query_result=redact(query_result or ""),
            passed=verdict.passed,
            explanation=verdict.message,
            posted_by=user,
        )
        result.save()
    return result


# --- the release's verdict ----------------------------------------------------------------------


def checks_with_latest(release: Release) -> list[IntegrityCheck]:
    """The release's checks, each with ``latest`` (its newest result or None). Two queries."""
    checks = list(release.integrity_checks.select_related("service").order_by("name", "pk"))
    latest_ids = IntegrityResult.objects.filter(integrity_check=OuterRef("pk")).order_by(
        "-created", "-pk"
    )
    ids = (
        IntegrityCheck.objects.filter(pk__in=[c.pk for c in checks])
        .annotate(latest_id=Subquery(latest_ids.values("pk")[:1]))
        .values_list("pk", "latest_id")
    )
    latest_by_check = dict(ids) if checks else {}
    results = IntegrityResult.objects.in_bulk([i for i in latest_by_check.values() if i])
    for check in checks:
        check.latest = results.get(latest_by_check.get(check.pk))
    return checks


def integrity_verdict(release: Release, checks: list[IntegrityCheck] | None = None) -> Decision:
    """One reason per check: passed when its latest result passed."""
    checks = checks_with_latest(release) if checks is None else checks
    decision = Decision()
    if not checks:
        decision.add(Reason(CODE, True, f"{release.key} has no data integrity checks."))
        return decision
    for check in checks:
        if check.latest is None:
            decision.add(
                Reason(
                    CODE,
                    False,
                    f"'{check.name}' has no result yet.",
                    {"check": check.pk, "name": check.name},
                )
            )
        else:
            decision.add(
                Reason(
                    CODE,
                    check.latest.passed,
                    f"'{check.name}' {'passed' if check.latest.passed else 'failed'}: "
                    f"{check.latest.explanation}",
                    {"check": check.pk, "name": check.name, "result": check.latest.pk},
                )
            )
    return decision


def require_passed_for_close(release: Release) -> None:
    """Refuse to close ``release`` while a check has no passing latest result."""
    verdict = integrity_verdict(release)
    if verdict.allowed:
        return
    names = ", ".join(f"'{r.data['name']}'" for r in verdict.failed)
    raise IllegalTransition(
        f"Cannot close {release.key}: data integrity checks {names} have not passed "
        "(post a passing result, or remove a check that no longer applies).",
        verdict.failed,
    )


def batch_items(release: Release) -> list:
    return [
        item
        for item in release.scope_items.all()
        if item.kind == ScopeKind.BATCH_JOB and item.decision == ScopeDecision.INCLUDED
    ]


def missing_checks_warning(release: Release, has_checks: bool | None = None) -> Reason | None:
    """A warning when the release changes batch or ETL jobs and has no integrity checks."""
    items = batch_items(release)
    if not items:
        return None
    if has_checks is None:
        has_checks = release.integrity_checks.exists()
    if has_checks:
        return None
    titles = ", ".join(i.title for i in items)
    return Reason(
        "integrity_checks_missing",
        False,
        f"{release.key} changes batch or ETL jobs ({titles}) but has no data integrity checks: "
        "add row counts, sums or reconciliations the jobs post before and after.",
        {"scope_items": [i.pk for i in items]},
    )
