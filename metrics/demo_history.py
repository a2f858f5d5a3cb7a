"""Demo delivery history (run by ``seed_demo``; idempotent): about half a year of production
and staging deployments of the demo services, with commits, some failures and rollbacks,
and ~30 incidents (some caused by a named deployment), imported through the same
``metrics.history.import_lines`` a team would use, so the metrics pages have data.

Generated deterministically (a fixed seed) and dated back from today; it runs once.
"""

import json
import random
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from metrics.history import import_lines
from metrics.models.history import DeploymentRecord, RecordSource
from releases.models import Service

DAYS = 182
PREFIX = "demo-hist"
# service: (mean days between production deployments, chance a deployment fails)
CADENCE = {
    "web-storefront": (2.0, 0.12),
    "mobile-bff": (3.0, 0.10),
    "catalog-service": (4.0, 0.06),
    "checkout-service": (3.5, 0.15),
    "payments-api": (3.0, 0.10),
    "ledger": (7.0, 0.08),
    "auth-service": (5.0, 0.12),
    "user-profile": (6.0, 0.05),
    "notification-service": (8.0, 0.05),
}
SEVERITIES = ["critical", "high", "high", "medium", "medium", "medium", "low", "low"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lines(now: datetime, services: list[str]) -> list[str]:
    """The demo history as import lines (deterministic for a given ``now``)."""
    rng = random.Random(7)
    start = (now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    out: list[str] = []
    production: list[tuple[str, str, datetime, str]] = []  # (id, service, finished, status)
    for service in services:
        every, failure = CADENCE[service]
        day, minor, n = rng.uniform(0, every), 0, 0
        while day < DAYS - 1:
            n += 1
            minor += 1
            # Working hours, UTC.
            started = start + timedelta(
                days=int(day), hours=rng.randint(8, 16), minutes=rng.randint(0, 59)
            )
            version = f"{1 + minor // 40}.{minor % 40}.0"
            commits = [
                {
                    "sha": f"{rng.getrandbits(160):040x}",
                    "authored_at": _iso(started - timedelta(hours=rng.uniform(2, 24 * 6))),
                }
                for _ in range(rng.randint(1, 4))
            ]
            staging_id = f"{PREFIX}-{service}-stg-{n}"
            staged = started - timedelta(hours=rng.uniform(3, 30))
            out.append(
                json.dumps(
                    {
                        "kind": "deployment",
                        "external_id": staging_id,
                        "service": service,
                        "environment": "staging",
                        "version": version,
                        "started_at": _iso(staged),
                        "finished_at": _iso(staged + timedelta(minutes=rng.randint(4, 15))),
                        "status": "succeeded",
                        "commits": commits,
                    }
                )
            )
            roll = rng.random()
            status = "succeeded"
            if roll < failure * 0.6:
                status = "failed"
            elif roll < failure:
                status = "rolled_back"
            finished = started + timedelta(minutes=rng.randint(5, 40))
            ext = f"{PREFIX}-{service}-prod-{n}"
            out.append(
                json.dumps(
                    {
                        "kind": "deployment",
                        "external_id": ext,
                        "service": service,
                        "environment": "production",
                        "version": version,
                        "started_at": _iso(started),
                        "finished_at": _iso(finished),
                        "status": status,
                        "commits": commits,
                    }
                )
            )
            production.append((ext, service, finished, status))
            if status != "succeeded":
                # The fix goes out within hours (failed deployment recovery).
                day += rng.uniform(0.1, 0.6)
            else:
                day += rng.expovariate(1 / every)
    # ~30 incidents: most shortly after a production deployment (half of those naming it),
    # a few with no deployment before them.
    picks = rng.sample(production, k=min(26, len(production)))
    for i, (ext, service, finished, _status) in enumerate(sorted(picks, key=lambda p: p[2]), 1):
        started = finished + timedelta(hours=rng.uniform(0.2, 20))
        if started > now - timedelta(hours=2):
            continue
        resolved = started + timedelta(minutes=rng.randint(20, 8 * 60))
        out.append(
            json.dumps(
                {
                    "kind": "incident",
                    "external_id": f"{PREFIX}-PD-{1000 + i}",
                    "title": f"{service} errors after deploy" if i % 2 else f"{service} latency",
                    "service": service,
                    "severity": rng.choice(SEVERITIES),
                    "started_at": _iso(started),
                    "resolved_at": _iso(resolved) if resolved < now else None,
                    "caused_by": ext if i % 2 else None,
                }
            )
        )
    for i in range(4):
        service = rng.choice(services)
        started = start + timedelta(days=rng.uniform(5, DAYS - 5))
        out.append(
            json.dumps(
                {
                    "kind": "incident",
                    "external_id": f"{PREFIX}-PD-{2000 + i}",
                    "title": f"{service} upstream provider outage",
                    "service": service,
                    "severity": "medium",
                    "started_at": _iso(started),
                    "resolved_at": _iso(started + timedelta(hours=rng.uniform(1, 6))),
                    "caused_by": None,
                }
            )
        )
    return out


def demo(users: dict, envs: dict) -> None:
    if DeploymentRecord.objects.filter(
        source=RecordSource.IMPORT, external_id__startswith=PREFIX
    ).exists():
        return
    if "staging" not in envs or "production" not in envs:
        return
    services = [s for s in Service.objects.filter(slug__in=CADENCE).values_list("slug", flat=True)]
    if not services:
        return
    result = import_lines(lines(timezone.now(), sorted(services)), users.get("release_manager"))
    if not result.ok:  # pragma: no cover - the generator writes valid lines
        raise RuntimeError(f"demo history refused: {result.errors[:3]}")
