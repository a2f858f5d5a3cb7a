"""Demo packaging data (run by ``seed_demo``; idempotent): the payments release's container
image and DB migration with its compensating script (so the rollback package is complete and
production stays reachable), and payments-api configuration sets for staging and production
with secrets kept as vault references."""

import hashlib

from releases import packaging
from releases.models import Artifact, ConfigSet, ReleaseService, Service


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def demo(users: dict, envs: dict) -> None:
    developer = users.get("developer")
    service = Service.objects.filter(slug="payments-api").first()
    if developer is None or service is None or Artifact.objects.exists():
        return
    link = (
        ReleaseService.objects.filter(service=service, version="1.9.0")
        .select_related("release")
        .first()
    )
    if link is not None:
        release = link.release
        packaging.add_artifact(
            developer,
            release=release,
            service=service,
            kind="container_image",
            name="registry.example.com/payments-api",
            version="1.9.0",
            sha256=_sha("payments-api:1.9.0"),
            uri="oci://registry.example.com/payments-api:1.9.0",
            content="replicas: 3\nport: 8080\ndb_password: vault:payments/db\n",
        )
        migration = packaging.add_artifact(
            developer,
            release=release,
            service=service,
            kind="db_migration",
            name="V19__add_refund_reason",
            version="1.9.0",
            sha256=_sha("V19__add_refund_reason"),
            content="ALTER TABLE refunds ADD COLUMN reason text NULL;",
        )
        packaging.add_compensating_script(
            developer,
            artifact=migration,
            script="ALTER TABLE refunds DROP COLUMN reason;",
            tested=True,
        )
    for slug, host, replicas in (
        ("staging", "db.staging.internal", 2),
        ("production", "db.prod.internal", 6),
    ):
        environment = envs.get(slug)
        if (
            environment is None
            or ConfigSet.objects.filter(service=service, environment=environment).exists()
        ):
            continue
        packaging.save_config_set(
            developer,
            service=service,
            environment=environment,
            version="1",
            values={
                "db_host": host,
                "replicas": replicas,
                "db_password": f"vault:payments/{slug}/db",
            },
            description=f"payments-api settings in {environment.name}.",
        )
