"""Demo config drift (run by ``seed_demo``; idempotent): payments-api as observed in staging
and production by the config agent. Staging runs debug logging, accepted as its baseline;
production runs fewer replicas than its configuration set says and carries a feature flag
nobody configured: two open drift items. The two environments differ in hosts and replicas,
shown side by side on the compare page."""

from datetime import timedelta

from django.utils import timezone

from metrics import drift
from metrics.models import ConfigSnapshot, DriftItem
from releases.models import ConfigSet, Service

SOURCE = "config-agent"


def demo(users: dict, envs: dict) -> None:
    if ConfigSnapshot.objects.exists():
        return
    service = Service.objects.filter(slug="payments-api").first()
    staging, production = envs.get("staging"), envs.get("production")
    agent = users.get("pipeline") or users.get("deployer")
    manager = users.get("release_manager")
    if service is None or staging is None or production is None or agent is None:
        return
    if not ConfigSet.objects.filter(service=service, environment=production).exists():
        return  # the packaging demo records the expected configuration
    now = timezone.now().replace(second=0, microsecond=0)
    staging_values = {
        "db_host": "db.staging.internal",
        "replicas": 2,
        "db_password": "vault:payments/staging/db",
        "log_level": "debug",
    }
    drift.record_snapshot(
        agent, service, staging, staging_values, SOURCE, taken_at=now - timedelta(hours=6)
    )
    item = DriftItem.objects.filter(service=service, environment=staging, key="log_level").first()
    if item is not None and manager is not None:
        drift.reconcile(
            item, manager, "accept", "Staging keeps debug logging for the integration test runs."
        )
    drift.record_snapshot(
        agent, service, staging, staging_values, SOURCE, taken_at=now - timedelta(hours=1)
    )
    drift.record_snapshot(
        agent,
        service,
        production,
        {
            "db_host": "db.prod.internal",
            "replicas": 4,
            "db_password": "vault:payments/production/db",
            "feature_refunds_v2": "true",
        },
        SOURCE,
        taken_at=now - timedelta(minutes=30),
    )
