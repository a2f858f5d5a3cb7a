"""DR validation (curriculum 4.5): was every high-availability service recovered recently?

A service with ``ha_required`` may take a production release only if its most recent
disaster-recovery test within ``DR_VALIDITY_DAYS`` (default 90) passed and achieved its
recovery time and recovery point objectives. The latest test in the period is what counts: a
pass followed by a failure means the service is not known to recover *now*.

Verdicts per HA service: ``validated``, ``failed`` (the latest recent test failed or was
partial), ``targets_missed`` (passed but RTO or RPO over target), ``expired`` (tested, but not
in the period), ``missing`` (never tested). The gate's ``dr_validation`` check (production
only) fails unless every HA service is ``validated``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from releasemgr.decisions import NotPermitted, Reason
from releases.models import DrResult, DrTest, Release, Service
from releases.rollback_scope import InvalidInput

CODE = "dr_validation"
ADD_PERMISSION = "releases.add_drtest"
CHANGE_PERMISSION = "releases.change_drtest"
EDITABLE_FIELDS = (
    "tested_at",
    "scenario",
    "what_was_tested",
    "result",
    "rto_target_minutes",
    "rto_achieved_minutes",
    "rpo_target_minutes",
    "rpo_achieved_minutes",
    "evidence_link",
)

VALIDATED = "validated"
FAILED = "failed"
TARGETS_MISSED = "targets_missed"
EXPIRED = "expired"
MISSING = "missing"


def validity_days() -> int:
    return getattr(settings, "DR_VALIDITY_DAYS", 90)


@dataclass
class DrVerdict:
    service: Service
    status: str
    test: DrTest | None = None  # the latest test in the period, else the latest ever
    last_tested_at: datetime | None = None

    @property
    def passed(self) -> bool:
        return self.status == VALIDATED

    def describe(self) -> str:
        name = self.service.name
        when = f"{self.last_tested_at:%Y-%m-%d}" if self.last_tested_at else ""
        test = self.test
        if self.status == VALIDATED:
            return (
                f"{name} recovered on {when} (RTO {test.rto_achieved_minutes}/"
                f"{test.rto_target_minutes} min, RPO {test.rpo_achieved_minutes}/"
                f"{test.rpo_target_minutes} min)"
            )
        if self.status == FAILED:
            return f"{name}'s latest DR test on {when} {test.get_result_display().lower()}"
        if self.status == TARGETS_MISSED:
            missed = []
            if not test.rto_met:
                missed.append(
                    f"RTO {test.rto_achieved_minutes} min over the {test.rto_target_minutes} "
                    "min target"
                )
            if not test.rpo_met:
                missed.append(
                    f"RPO {test.rpo_achieved_minutes} min over the {test.rpo_target_minutes} "
                    "min target"
                )
            return f"{name}'s DR test on {when} missed its targets: {' and '.join(missed)}"
        if self.status == EXPIRED:
            return f"{name} was last DR-tested on {when}, more than {validity_days()} days ago"
        return f"{name} has no recorded DR test"

    def as_dict(self) -> dict:
        return {
            "service": self.service.slug,
            "status": self.status,
            "test": self.test.pk if self.test else None,
            "last_tested_at": self.last_tested_at.isoformat() if self.last_tested_at else None,
        }


def verdicts(services, at: datetime | None = None) -> list[DrVerdict]:
    """The DR verdict of each HA service among ``services``. Two queries at most: the tests in
    the period, and the last test date of the HA services without one."""
    at = at or timezone.now()
    ha = [s for s in services if s.ha_required]
    if not ha:
        return []
    since = at - timedelta(days=validity_days())
    latest: dict[int, DrTest] = {}
    for test in DrTest.objects.filter(
        service__in=ha, tested_at__gte=since, tested_at__lte=at
    ).order_by("service_id", "-tested_at", "-pk"):
        latest.setdefault(test.service_id, test)
    untested = [s.pk for s in ha if s.pk not in latest]
    older = {}
    if untested:
        older = dict(
            Service.objects.filter(pk__in=untested)
            .annotate(last=Max("dr_tests__tested_at"))
            .values_list("pk", "last")
        )
    result = []
    for service in sorted(ha, key=lambda s: s.name):
        test = latest.get(service.pk)
        if test is None:
            last = older.get(service.pk)
            result.append(DrVerdict(service, EXPIRED if last else MISSING, None, last))
        elif test.result != DrResult.PASSED:
            result.append(DrVerdict(service, FAILED, test, test.tested_at))
        elif not (test.rto_met and test.rpo_met):
            result.append(DrVerdict(service, TARGETS_MISSED, test, test.tested_at))
        else:
            result.append(DrVerdict(service, VALIDATED, test, test.tested_at))
    return result


def check_dr_validation(release: Release, environment, at: datetime | None = None) -> Reason:
    """The gate's ``dr_validation`` check. Production only; it never clears by waiting."""
    if not environment.is_production:
        return Reason(
            CODE,
            True,
            f"{environment.name} is not production; DR validation is checked before production.",
        )
    services = [rs.service for rs in release.release_services.select_related("service")]
    found = verdicts(services, at)
    data = {"days": validity_days(), "services": [v.as_dict() for v in found]}
    if not found:
        return Reason(
            CODE, True, f"No service {release.key} ships requires high availability.", data
        )
    bad = [v for v in found if not v.passed]
    if bad:
        return Reason(
            CODE,
            False,
            "High-availability services need a passed DR test within "
            f"{validity_days()} days that met its RTO and RPO: "
            + "; ".join(v.describe() for v in bad)
            + ".",
            data,
        )
    return Reason(
        CODE,
        True,
        "Every high-availability service passed a recent DR test: "
        + "; ".join(v.describe() for v in found)
        + ".",
        data,
    )


# --- recording tests ---------------------------------------------------------------------------


def _save(test: DrTest, user, reason: str) -> DrTest:
    errors: dict[str, list[str]] = {}
    try:
        test.full_clean()
    except ValidationError as exc:
        errors = exc.message_dict
    if test.tested_at and test.tested_at > timezone.now() + timedelta(minutes=5):
        errors.setdefault("tested_at", []).append("A DR test cannot be in the future.")
    if errors:
        raise InvalidInput.of(errors)
    test.save_with_reason(reason, user=user)
    return test


def record_test(service: Service | None, user, **fields) -> DrTest:
    """Record a DR test. The RTO target defaults to the service's recovery SLA."""
    if not user.has_perm(ADD_PERMISSION):
        raise NotPermitted("Your role may not record DR tests.")
    if service is None:
        raise InvalidInput.of({"service": ["Choose the service that was tested."]})
    values = {k: v for k, v in fields.items() if k in EDITABLE_FIELDS}
    if values.get("rto_target_minutes") is None:
        values["rto_target_minutes"] = service.recovery_sla_minutes
    values.setdefault("evidence_link", "")
    values.setdefault("what_was_tested", "")
    with transaction.atomic():
        test = DrTest(service=service, recorded_by=user, **values)
        return _save(test, user, "DR test recorded")


def edit_test(test: DrTest, user, reason: str = "", **changes) -> DrTest:
    if not user.has_perm(CHANGE_PERMISSION):
        raise NotPermitted("Your role may not change DR tests.")
    with transaction.atomic():
        test = DrTest.objects.select_for_update().get(pk=test.pk)
        for name, value in changes.items():
            if name in EDITABLE_FIELDS:
                setattr(test, name, value)
        if test.rto_target_minutes is None:
            test.rto_target_minutes = test.service.recovery_sla_minutes
        return _save(test, user, reason or "DR test edited")
