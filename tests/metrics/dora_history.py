"""A small hand-built delivery history (the worked example of docs/metrics.md).

Period: 2026-03-02 (Monday) to 2026-03-16 (exclusive) = 14 days = 2 weeks. Times UTC.

payments-api (team payments, domain money), production:
  D1 succeeded 03-02 10:00  commits c1 (authored 03-01 10:00), c2 (03-02 06:00)   release R1
  D2 failed    03-03 12:00  commit  c3 (03-03 08:00)                              release R2
  D3 succeeded 03-03 14:00  commit  c3 again (first success: lead 6 h)            release R2
  D4 succeeded 03-05 09:00  commit  c4 (03-04 09:00); incident I1 attributed       release R3
  D5 rolled back 03-09 10:00 commit c5 (03-09 07:00)                              release R4
  D6 rolled back 03-09 11:00 (the rollback was rolled back)                       release R4
  D7 succeeded 03-09 15:00  commit  c5 again (first success: lead 8 h)            release R4
  not counted: a staging record 03-04, a production record 02-27 (before the period)
search-api (team search, domain discovery), production:
  S1 succeeded 03-10 12:00  commit c6 (03-10 00:00)                               release R5
Incidents:
  I1 payments critical, 03-05 10:00 → 13:00 (3 h), attributed to D4
  I2 search medium, no release, 03-11 00:00 → 01:00 (1 h)
  I3 payments high, 03-12 00:00, not resolved
  I4 payments low, 02-20 → 02-21 (before the period)
"""

from __future__ import annotations

from datetime import UTC, datetime

from metrics.history import refresh_first_shipped
from metrics.models import CommitRecord, DeploymentRecord, Incident
from tests.factories import EnvironmentFactory, ReleaseFactory, ServiceFactory, TeamFactory

SINCE, UNTIL = "2026-03-02", "2026-03-16"


def at(day: str, hm: str = "00:00") -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{hm}:00").replace(tzinfo=UTC)


def record(service, env, status, finished, release=None, commits=(), **extra):
    rec = DeploymentRecord.objects.create(
        service=service,
        team=service.team,
        environment=env,
        is_production=env.is_production,
        status=status,
        finished_at=finished,
        started_at=finished,
        release=release,
        version=extra.pop("version", "1.0.0"),
        **extra,
    )
    for sha, authored in commits:
        CommitRecord.objects.create(
            deployment_record=rec, service=service, sha=sha, authored_at=authored
        )
    # As the import and record_deployment do after writing records.
    refresh_first_shipped((service.pk, sha) for sha, _authored in commits)
    return rec


def build():
    prod = EnvironmentFactory(slug="production", name="Production", order=4, is_production=True)
    staging = EnvironmentFactory(slug="staging", name="Staging", order=3, is_production=False)
    pay_team = TeamFactory(slug="payments", name="Payments")
    search_team = TeamFactory(slug="search", name="Search")
    pay = ServiceFactory(slug="payments-api", name="Payments API", team=pay_team, domain="money")
    search = ServiceFactory(
        slug="search-api", name="Search API", team=search_team, domain="discovery"
    )
    r = {n: ReleaseFactory(name=f"R{n}") for n in range(1, 6)}
    d = {}
    d[1] = record(
        pay,
        prod,
        "succeeded",
        at("03-02", "10:00"),
        r[1],
        [("c1", at("03-01", "10:00")), ("c2", at("03-02", "06:00"))],
    )
    d[2] = record(pay, prod, "failed", at("03-03", "12:00"), r[2], [("c3", at("03-03", "08:00"))])
    d[3] = record(
        pay, prod, "succeeded", at("03-03", "14:00"), r[2], [("c3", at("03-03", "08:00"))]
    )
    d[4] = record(
        pay, prod, "succeeded", at("03-05", "09:00"), r[3], [("c4", at("03-04", "09:00"))]
    )
    d[5] = record(
        pay, prod, "rolled_back", at("03-09", "10:00"), r[4], [("c5", at("03-09", "07:00"))]
    )
    d[6] = record(pay, prod, "rolled_back", at("03-09", "11:00"), r[4])
    d[7] = record(
        pay, prod, "succeeded", at("03-09", "15:00"), r[4], [("c5", at("03-09", "07:00"))]
    )
    record(pay, staging, "succeeded", at("03-04", "10:00"), r[3], [("c9", at("03-04", "01:00"))])
    record(pay, prod, "failed", at("02-27", "10:00"))
    d["s1"] = record(
        search, prod, "succeeded", at("03-10", "12:00"), r[5], [("c6", at("03-10", "00:00"))]
    )
    Incident.objects.create(
        title="I1",
        service=pay,
        severity="critical",
        started_at=at("03-05", "10:00"),
        resolved_at=at("03-05", "13:00"),
        deployment_record=d[4],
        release=r[3],
    )
    Incident.objects.create(
        title="I2",
        service=search,
        severity="medium",
        started_at=at("03-11", "00:00"),
        resolved_at=at("03-11", "01:00"),
    )
    Incident.objects.create(title="I3", service=pay, severity="high", started_at=at("03-12"))
    Incident.objects.create(
        title="I4", service=pay, severity="low", started_at=at("02-20"), resolved_at=at("02-21")
    )
    return {"prod": prod, "staging": staging, "pay": pay, "search": search, "r": r, "d": d}
