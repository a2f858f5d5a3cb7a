"""Percentiles computed by the database, the same answer on PostgreSQL and SQLite.

DESIGN.md: linear interpolation between closest ranks, as
``statistics.quantiles(method="inclusive")`` and PostgreSQL ``percentile_cont``. For ``n``
values sorted ascending and a fraction ``p`` the position is ``h = (n - 1) * p``; the answer
is ``v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)])``.

- PostgreSQL: one ``percentile_cont(p) WITHIN GROUP (ORDER BY expr)`` aggregate per fraction,
  all in one query.
- Other backends (SQLite): one COUNT query, then per fraction one ``ORDER BY expr
  LIMIT 2 OFFSET floor(h)`` query: two rows read whatever the row count.

Values may be numbers or durations (``timedelta``); ``hours()`` turns either into hours.

Usage::

    percentiles(records, F("resolved_at") - F("started_at"), (0.5, 0.9))
    # -> {0.5: timedelta(...), 0.9: timedelta(...)}  (None for each when no rows)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import Aggregate, Count, DurationField, Expression, F, FloatField, QuerySet

MEDIAN = 0.5
P90 = 0.9
_VALUE = "_pct_value"


class PercentileCont(Aggregate):
    """PostgreSQL ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, expression, fraction: float, output_field=None, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be between 0 and 1")
        super().__init__(expression, output_field=output_field, fraction=float(fraction), **extra)


def _is_postgres(queryset: QuerySet) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def _interpolate(low: Any, high: Any, frac: float) -> Any:
    if frac == 0 or high is None:
        return low
    if isinstance(low, Decimal):
        low, high = float(low), float(high)
    return low + (high - low) * frac


def _output_field(queryset: QuerySet, expression) -> Any:
    if isinstance(expression, str):
        expression = F(expression)
    try:
        resolved = expression.resolve_expression(queryset.query)
        field = resolved.output_field
    except Exception:  # an expression Django cannot type on its own
        return FloatField()
    if isinstance(field, DurationField):
        return DurationField()
    return FloatField()


def percentiles(
    queryset: QuerySet,
    expression: str | Expression,
    fractions: Sequence[float] = (MEDIAN, P90),
) -> dict[float, Any]:
    """The ``fractions`` percentiles of ``expression`` over ``queryset`` (rows where it is
    NULL are left out). ``{fraction: value or None}``; None when there is no value at all."""
    if isinstance(expression, str):
        expression = F(expression)
    annotated = queryset.annotate(**{_VALUE: expression}).filter(**{f"{_VALUE}__isnull": False})
    if _is_postgres(queryset):
        output = _output_field(queryset, expression)
        aggregates = {
            f"p{i}": PercentileCont(F(_VALUE), p, output_field=output)
            for i, p in enumerate(fractions)
        }
        row = annotated.order_by().aggregate(**aggregates)
        return {p: row[f"p{i}"] for i, p in enumerate(fractions)}
    n = annotated.order_by().aggregate(_n=Count("pk"))["_n"]
    out: dict[float, Any] = {}
    if not n:
        return dict.fromkeys(fractions)
    ordered = annotated.order_by(_VALUE, "pk").values_list(_VALUE, flat=True)
    for p in fractions:
        h = (n - 1) * p
        low = math.floor(h)
        pair = list(ordered[low : low + 2])
        out[p] = _interpolate(pair[0], pair[1] if len(pair) > 1 else None, h - low)
    return out


def hours(value: Any, ndigits: int = 2) -> float | None:
    """A duration (or number of seconds-free hours) as hours, rounded; None stays None."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        # PostgreSQL interpolates intervals to the microsecond (351h38m41.999999s where the
        # exact answer is 351h38m42s): settle on the millisecond first so both backends round
        # the same way.
        return round(round(value.total_seconds(), 3) / 3600, ndigits)
    return round(float(value), ndigits)


def median_p90_hours(queryset: QuerySet, expression: str | Expression) -> dict[str, float | None]:
    """``{"median": h, "p90": h}`` of a duration expression, in hours (the API's shape)."""
    found = percentiles(queryset, expression, (MEDIAN, P90))
    return {"median": hours(found[MEDIAN]), "p90": hours(found[P90])}


def python_quantiles(values: Iterable[Any], fractions: Sequence[float]) -> dict[float, Any]:
    """Reference implementation (tests): the same interpolation in Python."""
    data = sorted(values)
    if not data:
        return dict.fromkeys(fractions)
    out = {}
    for p in fractions:
        h = (len(data) - 1) * p
        low = math.floor(h)
        high = data[low + 1] if low + 1 < len(data) else None
        out[p] = _interpolate(data[low], high, h - low)
    return out
