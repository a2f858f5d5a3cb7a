"""Demo late defects (run by ``seed_demo``; idempotent): a payouts release planned in two days,
approved by the CAB, then found to have an escalated high defect that blocks it, a high defect
whose residual risk the product owner accepted for a week, and a resolved critical one. The
pipeline then asks the gate about its version (payouts-batch 1.13.0, unique among the demo
releases) for dev, where it could otherwise go: prevented, only ``open_defects`` failing."""

from datetime import timedelta

from django.utils import timezone

from governance import defects, jobs_defects
from governance.choices import DefectStatus
from governance.demo_policy import approve_as_required
from governance.models import Defect
from releases import gate, lifecycle
from releases.models import Release, ReleaseService, Service

NAME = "Payouts batch retries"


def demo(users: dict, envs: dict) -> None:
    if Defect.objects.exists():
        return
    developer, manager, owner = (
        users.get(r) for r in ("developer", "release_manager", "product_owner")
    )
    service = Service.objects.filter(slug="payouts-batch").first()
    if developer is None or manager is None or owner is None or service is None:
        return
    release = Release.objects.filter(name=NAME).first()
    if release is None:
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
        release = Release(
            name=NAME,
            version="1.13.0",
            author=developer,
            owner=manager,
            planned_start=start,
            planned_end=start + timedelta(hours=2),
            description="Retry failed payouts with backoff instead of a manual re-run.",
            rollback_plan="Redeploy 1.12.1; retries stop, failed payouts wait for the manual run.",
        )
        release.save_with_reason("created", user=developer)
        ReleaseService.objects.create(release=release, service=service, version="1.13.0")
        lifecycle.submit(release, developer, "Ready for CAB")
        approvers = [users.get(r) for r in ("cab_member2", "cab_member", "compliance_officer")]
        approve_as_required(
            release, [u for u in approvers if u is not None], "Backoff is safer than re-runs."
        )
    staging = envs.get("staging")
    defects.report_defect(
        release,
        developer,
        title="Retries can pay a payout twice when the bank times out",
        severity="high",
        reference="PAY-1207",
        found_in=staging,
        description="A timeout after the bank accepted the transfer is retried as a failure.",
    )
    accepted = defects.report_defect(
        release,
        developer,
        title="Retry e-mails go out in English only",
        severity="high",
        reference="PAY-1210",
        found_in=staging,
    )
    defects.accept_residual_risk(
        release,
        [accepted],
        owner,
        "Merchants get the payout either way; translations ship in 1.13.1 next week.",
        timezone.now() + timedelta(days=7),
    )
    fixed = defects.report_defect(
        release,
        developer,
        title="Batch crashes on an empty retry queue",
        severity="critical",
        reference="PAY-1199",
        found_in=envs.get("test"),
    )
    defects.resolve_defect(
        fixed, developer, status=DefectStatus.RESOLVED, comment="Fixed in 1.13.0-rc2."
    )
    # The escalation job tells the owner and the service's owners about the blocking one.
    jobs_defects.run()
    if users.get("pipeline") is not None and envs.get("dev") is not None:
        gate.ask(service, "1.13.0", envs["dev"], users["pipeline"])
