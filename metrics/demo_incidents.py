"""Demo incidents and data integrity checks (run by ``seed_demo``; idempotent).

- The deployed "Ledger settlement report" caused a high incident on the ledger (explicitly
  attributed to its production deployment). Its settlement migration is not backward
  compatible and a fix release (2.8.1) is submitted: the aid advises fixing forward, and the
  release manager decided so.
- The rolled-back "Payments currency rounding" hotfix caused a resolved high incident.
- A low incident on the storefront is attributed to nothing.
- The ledger release changes the settlement batch job: two integrity checks, the row count
  passing and the settlement total failing (it cannot be closed yet).
- The approved "Catalog search ranking" changes the nightly index job but has no checks: its
  page warns.
"""

from datetime import timedelta

from django.utils import timezone

from metrics import incidents, integrity
from metrics.models import Incident
from releases import lifecycle
from releases.choices import ScopeDecision, ScopeKind
from releases.models import MigrationPlan, Release, ReleaseService, ScopeItem, Service


def _production(release):
    return (
        release.deployments.filter(environment__is_production=True, finished_at__isnull=False)
        .order_by("-finished_at")
        .first()
    )


def _batch_item(release, title, service_slug, user):
    if not release.scope_items.filter(title=title).exists():
        item = ScopeItem(
            release=release,
            title=title,
            kind=ScopeKind.BATCH_JOB,
            decision=ScopeDecision.INCLUDED,
            service=Service.objects.filter(slug=service_slug).first(),
        )
        item.save_with_reason("demo: changes a batch job", user=user)


def _contract_migration(release, user):
    title = "Settlement amounts stored in minor units"
    if release.scope_items.filter(title=title).exists():
        return
    item = ScopeItem(
        release=release,
        title=title,
        kind=ScopeKind.SCHEMA_MIGRATION,
        decision=ScopeDecision.INCLUDED,
        service=Service.objects.filter(slug="ledger").first(),
    )
    item.save_with_reason("demo: schema change", user=user)
    MigrationPlan(
        scope_item=item,
        backward_compatible=False,
        phase="contract",
        delivery="separate_step_before",
        reason="Drops the decimal amount column once the minor-unit column is filled.",
    ).save_with_reason("demo: migration plan", user=user)


def _fix_release(users):
    """A submitted fix for the ledger (what fixing forward would ship)."""
    developer = users.get("developer")
    ledger = Service.objects.filter(slug="ledger").first()
    if developer is None or ledger is None:
        return
    if Release.objects.filter(name="Ledger settlement rounding fix").exists():
        return
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=6)
    fix = Release(
        name="Ledger settlement rounding fix",
        version="2.8.1",
        author=developer,
        owner=users.get("release_manager"),
        planned_start=start,
        planned_end=start + timedelta(hours=1),
        description="Round per settlement, not per line.",
    )
    fix.save_with_reason("created", user=developer)
    ReleaseService.objects.create(release=fix, service=ledger, version="2.8.1")
    lifecycle.submit(fix, developer, "Fix forward for the settlement totals incident")


def demo(users: dict, envs: dict) -> None:
    if Incident.objects.filter(external_id__startswith="DEMO-INC-").exists():
        return
    manager, deployer, pipeline = (
        users.get(r) for r in ("release_manager", "deployer", "pipeline")
    )
    ledger_release = Release.objects.filter(name="Ledger settlement report").first()
    rounding = Release.objects.filter(name="Payments currency rounding").first()
    if None in (manager, deployer, pipeline, ledger_release, rounding):
        return
    now = timezone.now()
    shipped = _production(ledger_release)
    if shipped is not None:
        ledger = Service.objects.get(slug="ledger")
        _contract_migration(ledger_release, manager)
        _fix_release(users)
        incident, _ = incidents.report_incident(
            pipeline,
            service=ledger,
            title="Daily settlement totals differ from the bank statement",
            severity="high",
            started_at=min(shipped.finished_at + timedelta(hours=3), now),
            detected_at=min(shipped.finished_at + timedelta(hours=4), now),
            caused_by=shipped,
            description="Reconciliation flags 41 merchants; totals are off by rounding per line.",
            external_id="DEMO-INC-1",
        )
        incidents.set_status(incident, deployer, "mitigated", comment="Payout run paused")
        incidents.decide(
            incident,
            manager,
            "fix_forward",
            "The minor-unit migration cannot run backwards without a data fix, and the rounding "
            "fix (2.8.1) is small and already submitted; payouts stay paused until it ships.",
        )
        _batch_item(
            ledger_release, "Settlement batch writes daily totals", "payouts-batch", manager
        )
        rows = integrity.add_check(
            ledger_release,
            manager,
            name="settlement rows",
            kind="row_count",
            relation="equal",
            service=Service.objects.get(slug="payouts-batch"),
            job_name="settlement-nightly",
            description="Rows in settlement_line before and after the migration job.",
        )
        integrity.post_result(
            rows,
            pipeline,
            before_value="184220",
            after_value="184220",
            query_name="count_settlement_lines",
        )
        total = integrity.add_check(
            ledger_release,
            manager,
            name="settlement total",
            kind="sum",
            relation="within_tolerance",
            tolerance_percent=0.01,
            service=ledger,
            job_name="settlement-nightly",
            description="Sum of settlement amounts (EUR) must not move by more than 0.01%.",
        )
        integrity.post_result(
            total,
            pipeline,
            before_value="9812345.20",
            after_value="9803117.85",
            query_name="sum_settlement_amounts",
            query_result="41 merchants differ; largest gap 1,204.11 EUR",
        )
    rolled = _production(rounding)
    if rolled is not None:
        incident, _ = incidents.report_incident(
            pipeline,
            service=Service.objects.get(slug="payments-api"),
            title="Refunds rejected for JPY amounts",
            severity="high",
            started_at=min(rolled.finished_at + timedelta(minutes=20), now),
            resolved_at=min(rolled.finished_at + timedelta(hours=1), now),
            caused_by=rolled,
            external_id="DEMO-INC-2",
        )
    incidents.report_incident(
        deployer,
        service=Service.objects.get(slug="web-storefront"),
        title="Product images load slowly in one region",
        severity="low",
        started_at=now - timedelta(hours=30),
        external_id="DEMO-INC-3",
    )
    catalog = Release.objects.filter(name="Catalog search ranking").first()
    if catalog is not None:
        _batch_item(catalog, "Nightly search index rebuild job", "catalog-service", manager)
