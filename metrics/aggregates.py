"""Percentiles computed by the database, the same answer on PostgreSQL and SQLite.

DESIGN.md: linear interpolation between closest ranks, as
``statistics.quantiles(method="inclusive")`` and PostgreSQL ``percentile_cont``. For ``n``
values sorted ascending and a fraction ``p`` the position is ``h = (n - 1) * p``; the answer
is ``v[floor(h)] + (h - floor(h)) * (v[floor(h) + 1] - v[floor(h)])``.

- PostgreSQL: one ``percentile_cont(ARRAY[p, ...]) WITHIN GROUP (ORDER BY v)`` over an inner
  query that computes the expression once per row.
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
from django.db.models import Expression, F, QuerySet

MEDIAN = 0.5
P90 = 0.9
_VALUE = "_pct_value"


def _is_postgres(queryset: QuerySet) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def _interpolate(low: Any, high: Any, frac: float) -> Any:
    if frac == 0 or high is None:
        return low
    if isinstance(low, Decimal):
        low, high = float(low), float(high)
    return low + (high - low) * frac


def percentiles(
    queryset: QuerySet,
    expression: str | Expression,
    fractions: Sequence[float] = (MEDIAN, P90),
) -> dict[float, Any]:
    """The ``fractions`` percentiles of ``expression`` over ``queryset`` (rows where it is
    NULL are left out). ``{fraction: value or None}``; None when there is no value at all."""
    if isinstance(expression, str):
        expression = F(expression)
    if _is_postgres(queryset):
        return _postgres_percentiles(queryset, expression, fractions)
    annotated = queryset.annotate(**{_VALUE: expression}).filter(**{f"{_VALUE}__isnull": False})
    n = annotated.order_by().count()  # groups, for a values().annotate() queryset
    out: dict[float, Any] = {}
    if not n:
        return dict.fromkeys(fractions)
    # Ties broken by pk for a stable order; a grouped queryset (values().annotate()) has no
    # pk per row, and ordering by it would split the groups.
    tiebreak = () if queryset.query.group_by else ("pk",)
    ordered = annotated.order_by(_VALUE, *tiebreak).values_list(_VALUE, flat=True)
    for p in fractions:
        h = (n - 1) * p
        low = math.floor(h)
        pair = list(ordered[low : low + 2])
        out[p] = _interpolate(pair[0], pair[1] if len(pair) > 1 else None, h - low)
    return out


def _postgres_percentiles(
    queryset: QuerySet, expression: Expression, fractions: Sequence[float]
) -> dict[float, Any]:
    """One ``percentile_cont(ARRAY[...])`` over the values computed once per row.

    The expression (often a correlated subquery: "the next successful deployment") is
    selected in an inner query fenced with ``OFFSET 0``, so PostgreSQL evaluates it once per
    row instead of once per aggregate and filter that mentions it; ``percentile_cont``
    ignores NULLs by itself.
    """
    for p in fractions:
        if not 0 <= p <= 1:
            raise ValueError("fraction must be between 0 and 1")
    inner = queryset.order_by().annotate(**{_VALUE: expression}).values_list(_VALUE)
    sql, params = inner.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(
            f"SELECT percentile_cont(%s::float8[]) WITHIN GROUP (ORDER BY sub.v) "
            f"FROM ({sql} OFFSET 0) AS sub(v)",
            [[float(p) for p in fractions], *params],
        )
        row = cursor.fetchone()
    values = row[0] if row and row[0] is not None else [None] * len(fractions)
    return dict(zip(fractions, values, strict=True))


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
