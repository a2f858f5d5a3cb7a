"""CSV downloads of the metrics pages' tables (``?format=csv&table=...`` on each page).

One writer for every table, so they all look alike to a spreadsheet or a BI tool: a header
row, then plain values — ISO 8601 dates and UTC datetimes, hours and rates as numbers, empty
for "nothing to measure", ``yes``/``no`` for flags — and no HTML.

Text that a spreadsheet would read as a formula (a release named ``=HYPERLINK(...)``, a team
slug ``-x``) is neutralised with a leading apostrophe, as OWASP advises against CSV injection:
names, titles and external ids come from users and pipelines. Numbers are written as numbers
(a negative number is not a formula).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse
from django.utils.text import slugify

# A cell starting with one of these is evaluated by Excel, LibreOffice or Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    """One value as the CSV shows it (see the module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def download_name(*parts: object, filters=None) -> str:
    """A download's name: ``parts``, then the filters' scope and period, so two exports of the
    same table for two teams do not overwrite each other. Each scope is prefixed with its kind,
    as a team and a domain may share a name (``team=payments`` and ``domain=payments``):
    ``download_name("metrics", "dora", filters=f)`` →
    ``metrics-dora-team-payments-2026-08-31-2026-11-29.csv``.
    Every part is slugified (a domain is free text)."""
    words = [str(p) for p in parts]
    if filters is not None:
        scope = [("team", filters.team), ("service", filters.service)]
        words += [f"{kind}-{s.slug}" for kind, s in scope if s is not None]
        words += [f"domain-{filters.domain}"] if filters.domain else []
        words += [filters.since.isoformat(), filters.until.isoformat()]
    return "-".join(slug for slug in (slugify(w) for w in words) if slug) + ".csv"


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> HttpResponse:
    """A download named ``filename``: the header row, then each row through ``cell``."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return response
