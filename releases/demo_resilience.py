"""Demo rollback plans and DR tests (run by ``seed_demo``; idempotent).

``groundwork`` records DR tests before the demo releases ship: every high-availability
service passed a recent one (checkout-service after a failed attempt a week earlier, so its
history tells that story), and user-profile had a partial run. ``plan`` gives a release a
rollback step or two per shipped service within its recovery SLA (``seed_demo`` calls it for
each release it makes); ``demo`` does the same for the other areas' releases that have none.
"""

from datetime import timedelta

from django.utils import timezone

from releases.models import DrTest, Release, RollbackStep, Service
from releases.rollback_scope import FINISHED_STATES


def groundwork(users: dict) -> None:
    if DrTest.objects.exists():
        return
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    recorder = users.get("deployer")
    for days, service in enumerate(Service.objects.filter(ha_required=True).order_by("slug")):
        if service.slug == "checkout-service":
            _test(
                service,
                now - timedelta(days=30),
                "failed",
                service.recovery_sla_minutes * 2,
                recorder,
                "Payment provider failover stalled on a stale DNS record.",
            )
        _test(
            service,
            now - timedelta(days=10 + 2 * days),
            "passed",
            max(1, service.recovery_sla_minutes // 2),
            recorder,
            "",
        )
    profile = Service.objects.filter(slug="user-profile").first()
    if profile is not None:
        _test(
            profile,
            now - timedelta(days=45),
            "partial",
            50,
            recorder,
            "Profiles restored; avatars bucket replication lagged.",
        )


def _test(service, at, result, rto, recorder, notes):
    DrTest(
        service=service,
        tested_at=at,
        scenario="Primary region lost" if service.customer_facing else "Database failover",
        what_was_tested=notes
        or f"Failover of {service.name} to the standby region, "
        "restore from the latest replica, smoke tests.",
        result=result,
        rto_target_minutes=service.recovery_sla_minutes,
        rto_achieved_minutes=rto,
        rpo_target_minutes=5,
        rpo_achieved_minutes=1 if result == "passed" else 8,
        evidence_link=f"https://wiki.example.com/dr/{service.slug}/{at:%Y-%m-%d}",
        recorded_by=recorder,
    ).save_with_reason("demo DR test", user=recorder)


def plan(release: Release, user=None) -> None:
    """A rollback plan within each shipped service's recovery SLA (skips planned services)."""
    planned = set(release.rollback_steps.values_list("service_id", flat=True))
    for rs in release.release_services.select_related("service"):
        service = rs.service
        if service.pk in planned:
            continue
        redeploy = max(1, min(10, service.recovery_sla_minutes // 3))
        steps = [
            (
                f"Redeploy the previous {service.slug} version with the pipeline's rollback job",
                redeploy,
            ),
            ("Check health endpoints and the error-rate dashboard", 3),
        ]
        for position, (text, minutes) in enumerate(steps, start=1):
            RollbackStep(
                release=release,
                service=service,
                position=position,
                description=text,
                estimated_minutes=minutes,
            ).save_with_reason("demo rollback plan", user=user)


def demo(users: dict, envs: dict) -> None:
    for release in Release.objects.exclude(state__in=FINISHED_STATES).filter(
        rollback_steps__isnull=True
    ):
        plan(release, users.get("release_manager"))
