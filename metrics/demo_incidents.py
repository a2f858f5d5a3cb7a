"""Demo incidents and data integrity checks (run by ``seed_demo``; idempotent).

- The deployed "Ledger settlement report" caused a critical incident on the ledger (explicitly
  attributed to its production deployment); the release manager decided to fix forward.
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
from releases.choices import ScopeDecision, ScopeKind
from releases.models import Release, ScopeItem, Service


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
        incident, _ = incidents.report_incident(
            pipeline,
            service=ledger,
            title="Daily settlement totals differ from the bank statement",
            severity="critical",
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
            "Rolling back drops two days of settlements written in the new format; the rounding "
            "fix (2.8.1) is small and can ship today.",
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
