"""Deployment frequency against incident volume (curriculum 8.3): do weeks with more production
deployments have more incidents?

Per week (Monday-start UTC weeks overlapping the period) and per team: production deployments
and incidents started, from the daily rollups (one GROUP BY query). The Pearson and Spearman
correlations are computed from those weekly pairs (aggregates, at most a few hundred points), and
the answer says in plain words what they mean — including that there are too few weeks to
conclude anything (fewer than ``MIN_WEEKS``, or no variation), and that a correlation is not a
cause.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import models
from django.db.models import Sum
from django.db.models.functions import TruncWeek

from metrics.rollups import rollups_for
from releasemgr.decisions import Reason

MIN_WEEKS = 8


class Conclusion(models.TextChoices):
    TOO_FEW = "too_few", "Too few weeks (or no variation) to conclude"
    NO = "no", "No correlation"
    WEAK = "weak", "Weak correlation"
    MODERATE = "moderate", "Moderate correlation"
    STRONG = "strong", "Strong correlation"


WEEK_FIELDS = (
    "deployments",
    "succeeded",
    "failed",
    "rolled_back",
    "failed_or_attributed",
    "incidents_started",
    "incidents_resolved",
    "restore_seconds_sum",
)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks_of(since: date, until: date) -> list[date]:
    """Mondays of the weeks that overlap [since, until)."""
    out, monday = [], week_start(since)
    while monday < until:
        out.append(monday)
        monday += timedelta(days=7)
    return out


def pearson(xs: list[float], ys: list[float]) -> float | None:
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return sxy / math.sqrt(sxx * syy)


def ranks(values: list[float]) -> list[float]:
    """1-based ranks, ties get the average of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(xs: list[float], ys: list[float]) -> float | None:
    return pearson(ranks(xs), ranks(ys))


def strength(r: float) -> str:
    size = abs(r)
    if size < 0.1:
        return "no"
    if size < 0.3:
        return "a weak"
    if size < 0.5:
        return "a moderate"
    return "a strong"


@dataclass
class WeekRow:
    week: date
    deployments: int = 0
    succeeded: int = 0
    failed: int = 0
    rolled_back: int = 0
    failed_or_attributed: int = 0
    incidents_started: int = 0
    incidents_resolved: int = 0
    restore_seconds_sum: float = 0.0

    @property
    def change_failure_rate(self) -> float | None:
        return self.failed_or_attributed / self.deployments if self.deployments else None


@dataclass
class FrequencyIncidents:
    weeks: list[WeekRow]
    points: list[dict]  # {"team", "week", "deployments", "incidents"}
    pearson: float | None
    spearman: float | None
    conclusion: str  # too_few | none | weak | moderate | strong
    message: str
    reasons: list[Reason] = field(default_factory=list)

    @property
    def week_count(self) -> int:
        return len(self.weeks)


def frequency_vs_incidents(filters) -> FrequencyIncidents:
    weeks = weeks_of(filters.since, filters.until)
    rows = (
        rollups_for(filters)
        .annotate(week=TruncWeek("day"))
        .values("week", "service__team__slug")
        .annotate(**{name: Sum(name) for name in WEEK_FIELDS})
        .order_by()
    )
    by_week = {w: WeekRow(week=w) for w in weeks}
    by_team: dict[str, dict[date, tuple[int, int]]] = {}
    for item in rows:
        week = item["week"]
        week = week if isinstance(week, date) else date.fromisoformat(str(week)[:10])
        if hasattr(week, "date"):
            week = week.date()
        total = by_week.setdefault(week, WeekRow(week=week))
        for name in WEEK_FIELDS:
            setattr(total, name, getattr(total, name) + (item[name] or 0))
        team = item["service__team__slug"] or ""
        before = by_team.setdefault(team, {}).get(week, (0, 0))
        by_team[team][week] = (
            before[0] + (item["deployments"] or 0),
            before[1] + (item["incidents_started"] or 0),
        )
    if filters.team is not None and not by_team:
        by_team[filters.team.slug] = {}
    points = [
        {
            "team": team,
            "week": w,
            "deployments": pairs.get(w, (0, 0))[0],
            "incidents": pairs.get(w, (0, 0))[1],
        }
        for team, pairs in sorted(by_team.items())
        for w in weeks
    ]
    xs = [float(p["deployments"]) for p in points]
    ys = [float(p["incidents"]) for p in points]
    r, rho = pearson(xs, ys), spearman(xs, ys)
    n = len(weeks)
    if n < MIN_WEEKS:
        conclusion = "too_few"
        message = (
            f"Only {n} week{'s' if n != 1 else ''} of data: too few to conclude anything "
            f"(at least {MIN_WEEKS} weeks are needed). Choose a longer period."
        )
    elif r is None or rho is None:
        conclusion = "too_few"
        message = (
            f"{n} weeks, but the deployments or the incidents did not vary from week to week: "
            "there is nothing to correlate, so no conclusion."
        )
    else:
        words = strength(r)
        conclusion = words.split()[-1]
        direction = "" if words == "no" else (" positive" if r > 0 else " negative")
        message = (
            f"Over {n} weeks ({len(points)} team-weeks) there is {words}{direction} correlation "
            f"between deployments and incidents per week (Pearson r = {r:.2f}, "
            f"Spearman ρ = {rho:.2f}). "
        )
        if words == "no":
            message += "More deployments did not go with more incidents."
        elif r > 0:
            message += (
                "Weeks with more deployments had more incidents; correlation is not causation "
                "(busy weeks may simply carry riskier work)."
            )
        else:
            message += (
                "Weeks with more deployments had fewer incidents; correlation is not causation."
            )
    reason = Reason(
        "frequency_incidents",
        conclusion != "too_few",
        message,
        {"weeks": n, "points": len(points), "pearson": r, "spearman": rho},
    )
    return FrequencyIncidents(
        weeks=[by_week[w] for w in sorted(by_week)],
        points=points,
        pearson=r,
        spearman=rho,
        conclusion=conclusion,
        message=message,
        reasons=[reason],
    )
