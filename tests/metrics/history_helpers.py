"""Build delivery histories directly (DeploymentRecord / Incident rows) for metrics tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from metrics.models import DeploymentRecord, Incident
from tests.factories import ServiceFactory, TeamFactory


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def world(environments):
    payments = TeamFactory(slug="payments", name="Payments")
    search = TeamFactory(slug="search", name="Search")
    return {
        "payments": payments,
        "search": search,
        "api": ServiceFactory(slug="pay-api", name="Pay API", team=payments, domain="money"),
        "ledger": ServiceFactory(slug="ledger", name="Ledger", team=payments, domain="money"),
        "search-svc": ServiceFactory(slug="search-svc", name="Search", team=search, domain="find"),
        "prod": environments["production"],
        "staging": environments["staging"],
    }


def deploy(service, env, finished: datetime, status="succeeded", **extra) -> DeploymentRecord:
    return DeploymentRecord.objects.create(
        service=service,
        team=service.team,
        environment=env,
        is_production=env.is_production,
        status=status,
        version=extra.pop("version", "1.0"),
        started_at=finished - timedelta(minutes=10),
        finished_at=finished,
        source="import",
        **extra,
    )


def incident(service, started: datetime, resolved: datetime | None = None, record=None, **kw):
    return Incident.objects.create(
        title=kw.pop("title", "Something broke"),
        service=service,
        severity=kw.pop("severity", "high"),
        status="resolved" if resolved else "open",
        started_at=started,
        resolved_at=resolved,
        deployment_record=record,
        **kw,
    )
