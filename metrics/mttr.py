"""Mean time to recovery after failed releases (curriculum 8.1): ``mttr(filters)``.

A failed change is a production deployment record of the period that failed or was rolled
back, or that succeeded but has an incident attributed to it (the change-failure set of
``metrics.dora``). Failure is *detected* at the record's ``finished_at`` (failed / rolled
back) or at the start of its first attributed incident; it is *recovered* when the service's
next successful production record finishes after that (the rollback or the fix forward).
Median and p90 in hours come from the database (``metrics.aggregates``); changes not yet
recovered are counted but have no duration.
"""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)

from metrics.aggregates import median_p90_hours
from metrics.dora import FAILED_STATUSES, _duration, change_failure_rows, next_success
from metrics.models.history import DeploymentRecord
from metrics.models.incidents import Incident
from metrics.periods import Filters


def failure_rows(filters: Filters) -> QuerySet[DeploymentRecord]:
    """The failed changes with ``detected_at``, ``recovered_at`` and ``time_to_recover``."""
    first_incident = Subquery(
        Incident.objects.filter(deployment_record=OuterRef("pk"))
        .values("deployment_record")
        .annotate(first=Min("started_at"))
        .values("first")[:1],
        output_field=DateTimeField(),
    )
    return (
        change_failure_rows(filters)
        .annotate(
            detected_at=Case(
                When(status__in=FAILED_STATUSES, then=F("finished_at")),
                default=first_incident,
                output_field=DateTimeField(),
            )
        )
        .annotate(recovered_at=next_success("detected_at"))
        .annotate(time_to_recover=_duration("recovered_at", "detected_at"))
    )


def mttr(filters: Filters) -> dict[str, Any]:
    """``{"failures", "recovered", "not_recovered", "time_to_recover_hours": {median, p90}}``."""
    rows = failure_rows(filters).order_by()
    counts = rows.aggregate(
        failures=Count("pk"), recovered=Count("pk", filter=Q(recovered_at__isnull=False))
    )
    return {
        "failures": counts["failures"],
        "recovered": counts["recovered"],
        "not_recovered": counts["failures"] - counts["recovered"],
        "time_to_recover_hours": median_p90_hours(rows, "time_to_recover"),
    }
