"""The team / service / domain / period filters every metrics page and endpoint reads.

``parse_filters(request.GET)`` → ``Filters``; bad input raises ``InvalidFilters`` (a
``DomainError`` answered with HTTP 400) naming the field and what is wrong, so nothing is
computed from a half-understood question.

Periods are UTC dates: ``since`` inclusive, ``until`` exclusive (``since=2026-03-01&until=
2026-04-01`` is the whole of March, UTC, whatever the local clocks did). Without them: the
last 90 days, today (UTC) included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from releasemgr.decisions import DomainError, Reason

DEFAULT_DAYS = 90
MAX_DAYS = 366 * 10


class InvalidFilters(DomainError):
    """A filter the metrics cannot answer for (HTTP 400)."""

    status_code = 400
    code = "invalid_filters"

    def field_errors(self) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        for reason in self.reasons:
            errors.setdefault(reason.data.get("field", "non_field_errors"), []).append(
                reason.message
            )
        return errors


@dataclass(frozen=True)
class Filters:
    team: Any = None  # releases.Team or None
    service: Any = None  # releases.Service or None
    domain: str = ""
    since: date | None = None
    until: date | None = None

    @property
    def since_dt(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=UTC)

    @property
    def until_dt(self) -> datetime:
        return datetime.combine(self.until, time.min, tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.until - self.since).days

    @property
    def weeks(self) -> float:
        """Weeks in the period: days ÷ 7 (a 90-day period is 12.857 weeks)."""
        return self.days / 7

    def scope(self, prefix: str = "") -> Q:
        """Team/service/domain condition on a model with a ``service`` FK (``prefix`` to reach
        it, e.g. ``"deployment_record__"``). DeploymentRecord also carries ``team`` directly,
        but the service's team is the same by construction; records without a team (imports of
        a service since moved) count with the service's current team."""
        q = Q()
        if self.team is not None:
            q &= Q(**{f"{prefix}service__team": self.team})
        if self.service is not None:
            q &= Q(**{f"{prefix}service": self.service})
        if self.domain:
            q &= Q(**{f"{prefix}service__domain": self.domain})
        return q

    def record_scope(self) -> Q:
        """The same condition on ``DeploymentRecord`` using its copied-in ``team`` (the
        (team, finished_at) index), so one team's year is one range scan."""
        q = Q()
        if self.team is not None:
            q &= Q(team=self.team)
        if self.service is not None:
            q &= Q(service=self.service)
        if self.domain:
            q &= Q(service__domain=self.domain)
        return q

    def in_period(self, field: str) -> Q:
        return Q(**{f"{field}__gte": self.since_dt, f"{field}__lt": self.until_dt})

    def apply(self, queryset: QuerySet, time_field: str, prefix: str = "") -> QuerySet:
        return queryset.filter(self.scope(prefix) & self.in_period(time_field))

    def as_query(self) -> dict[str, str]:
        """The filters as query parameters (links, the API's echo)."""
        out = {"since": self.since.isoformat(), "until": self.until.isoformat()}
        if self.team is not None:
            out["team"] = self.team.slug
        if self.service is not None:
            out["service"] = self.service.slug
        if self.domain:
            out["domain"] = self.domain
        return out


def _date(raw: str, field: str, reasons: list[Reason]) -> date | None:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        reasons.append(
            Reason(
                "bad_date",
                False,
                f"{field}: '{raw}' is not a date; use YYYY-MM-DD (UTC).",
                {"field": field},
            )
        )
        return None


def today_utc() -> date:
    return timezone.now().astimezone(UTC).date()


def parse_filters(params, *, default_days: int = DEFAULT_DAYS) -> Filters:
    """Read ``team``, ``service``, ``domain``, ``since``, ``until`` from a QueryDict/dict.

    Raises ``InvalidFilters`` listing every problem (unknown team/service/domain, a bad date,
    an end on or before the start, a period longer than ten years)."""
    from releases.models import Service, Team

    def get(name: str) -> str:
        value = params.get(name) or ""
        return value.strip() if isinstance(value, str) else str(value)

    reasons: list[Reason] = []
    team = service = None
    team_slug, service_slug, domain = get("team"), get("service"), get("domain")
    if team_slug:
        team = Team.objects.filter(slug=team_slug).first()
        if team is None:
            reasons.append(
                Reason(
                    "unknown_team",
                    False,
                    f"No team '{team_slug}'; GET /api/v1/teams/ lists them.",
                    {"field": "team"},
                )
            )
    if service_slug:
        service = Service.objects.select_related("team").filter(slug=service_slug).first()
        if service is None:
            reasons.append(
                Reason(
                    "unknown_service",
                    False,
                    f"No service '{service_slug}'; GET /api/v1/services/ lists them.",
                    {"field": "service"},
                )
            )
    if domain and not Service.objects.filter(domain=domain).exists():
        reasons.append(
            Reason(
                "unknown_domain",
                False,
                f"No service is in the domain '{domain}'.",
                {"field": "domain"},
            )
        )

    raw_since, raw_until = get("since"), get("until")
    since = _date(raw_since, "since", reasons) if raw_since else None
    until = _date(raw_until, "until", reasons) if raw_until else None
    if until is None and not raw_until:
        until = (since + timedelta(days=default_days)) if since else today_utc() + timedelta(1)
    if since is None and not raw_since and until is not None:
        since = until - timedelta(days=default_days)
    if since is not None and until is not None:
        if until <= since:
            # 'until' is exclusive: an equal pair is not backwards, it holds no day at all.
            message = (
                f"The period is empty: 'until' ({until}) must be a later day than "
                f"'since' ({since}); 'until' is exclusive."
                if until == since
                else f"The period ends ({until}) before it starts ({since}); "
                "'until' is exclusive and must be after 'since'."
            )
            reasons.append(Reason("period_order", False, message, {"field": "until"}))
        elif (until - since).days > MAX_DAYS:
            reasons.append(
                Reason(
                    "period_too_long",
                    False,
                    f"The period is {(until - since).days} days; at most {MAX_DAYS}.",
                    {"field": "since"},
                )
            )
    if reasons:
        raise InvalidFilters(" ".join(r.message for r in reasons), reasons)
    return Filters(team=team, service=service, domain=domain, since=since, until=until)
