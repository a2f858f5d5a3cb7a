"""Demo runbooks (run by ``seed_demo``; idempotent): payments-api failover (three versions) and
restart (two), checkout-service degraded mode (two); and a release that changes two services'
behaviour with its "runbook updated" checklist: one item done (a version written for it is
linked), one still open."""

from django.db.models import Q

from metrics import runbooks
from metrics.models import Runbook, RunbookCheck
from releases.models import Release, Service

FAILOVER = [
    (
        "# Payments API failover\n\n"
        "Use when the primary region is unhealthy for more than 5 minutes.\n\n"
        "1. Announce in #incidents.\n"
        "2. Drain traffic from the primary load balancer.\n"
        "3. Promote the replica database.\n"
        "4. Switch DNS to the secondary region.\n",
        "First version",
    ),
    (
        "# Payments API failover\n\n"
        "Use when the primary region is unhealthy for more than 5 minutes.\n\n"
        "1. Announce in #incidents and page the payments on-call.\n"
        "2. Drain traffic from the primary load balancer.\n"
        "3. Promote the replica database (`vault:payments/production/db` holds the credentials).\n"
        "4. Switch DNS to the secondary region.\n"
        "5. Check the refund queue drains (dashboard *Payments / Queues*).\n",
        "Page on-call; credentials reference; check the refund queue",
    ),
    (
        "# Payments API failover\n\n"
        "Use when the primary region is unhealthy for more than 5 minutes.\n\n"
        "1. Announce in #incidents and page the payments on-call.\n"
        "2. Drain traffic from the primary load balancer.\n"
        "3. Promote the replica database (`vault:payments/production/db` holds the credentials).\n"
        "4. Switch DNS to the secondary region (TTL is 60 s: wait two TTLs).\n"
        "5. Check the refund queue drains (dashboard *Payments / Queues*).\n\n"
        "## Rollback\n\n"
        "Reverse steps 4 to 2 once the primary is healthy for 30 minutes.\n",
        "DNS TTL wait; rollback section",
    ),
]
RESTART = [
    ("# Restart payments-api\n\n```\nkubectl rollout restart deploy/payments-api\n```\n", "First"),
    (
        "# Restart payments-api\n\n"
        "```\nkubectl rollout restart deploy/payments-api\n"
        "kubectl rollout status deploy/payments-api --timeout=5m\n```\n\n"
        "| check | expected |\n|---|---|\n| 5xx rate | < 0.5 % |\n| p99 latency | < 400 ms |\n",
        "Wait for the rollout; health checks table",
    ),
]
DEGRADED = [
    ("# Checkout degraded mode\n\nTurn on `checkout.degraded` to skip recommendations.\n", "First"),
    (
        "# Checkout degraded mode\n\nTurn on `checkout.degraded` to skip recommendations and "
        "coupon validation.\n\nTurn it off once the payments-api error rate is back under 1 %.\n",
        "Coupons too; when to turn it off",
    ),
]


def _runbook(user, service, title, slug, versions):
    runbook = Runbook.objects.filter(slug=slug).first()
    if runbook is None:
        body, summary = versions[0]
        runbook = runbooks.create_runbook(user, service, title, slug, body, summary)
        for body, summary in versions[1:]:
            runbooks.add_version(user, runbook, body, summary)
    return runbook


def demo(users: dict, envs: dict) -> None:
    developer = users.get("developer")
    payments = Service.objects.filter(slug="payments-api").first()
    checkout = Service.objects.filter(slug="checkout-service").first()
    if developer is None or payments is None or checkout is None:
        return
    _runbook(developer, payments, "Payments API failover", "payments-api-failover", FAILOVER)
    _runbook(developer, payments, "Restart payments-api", "payments-api-restart", RESTART)
    _runbook(developer, checkout, "Checkout degraded mode", "checkout-degraded-mode", DEGRADED)
    if RunbookCheck.objects.exists():
        return
    # The first open release that changes two services' behaviour: one item done, one open.
    candidates = (
        Release.objects.exclude(state__in=runbooks.CLOSED_STATES)
        .filter(Q(scope_items__kind__in=runbooks.BEHAVIOUR_KINDS) | Q(api_changes__isnull=False))
        .distinct()
        .order_by("created", "pk")
    )
    for release in candidates:
        items = runbooks.checklist(release).reasons
        if len(items) < 2:
            continue
        slug = items[0].data["service"]
        service = Service.objects.get(slug=slug)
        runbook = Runbook.objects.filter(service=service).order_by("pk").first()
        if runbook is None:
            runbook = runbooks.create_runbook(
                developer,
                service,
                f"Operating {service.name}",
                f"{slug}-operations",
                f"# Operating {service.name}\n\nRestart with the pipeline's restart job.\n",
            )
        version = runbooks.add_version(
            developer,
            runbook,
            runbook.versions.order_by("-number").first().body
            + f"\n## Since {release.key}\n\nWhat {release.name} changes for operators.\n",
            f"Operator notes for {release.key}",
        )
        runbooks.link_version(release, service, version, developer)
        return
