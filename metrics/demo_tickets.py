"""Demo support tickets (run by ``seed_demo``; idempotent): around the latest successful
production deployment, a few tickets reported days before it (so the same complaints after it
are pre-existing), new complaints in the hours after it (release-related), one that only
partly resembles an older ticket (unclear), and one a release manager overrode."""

from datetime import timedelta

from django.utils import timezone

from metrics import triage
from metrics.models import SupportTicket
from releases.models import Deployment

# (external_id, hours relative to the deployment's end, subject, text, rating)
TICKETS = [
    (
        "HD-9001",
        -96,
        "Order confirmation e-mail arrives twice",
        "Every order sends two confirmation e-mails.",
        3,
    ),
    (
        "HD-9002",
        -50,
        "Saved address list empty on mobile app",
        "My saved addresses disappeared in the app.",
        2,
    ),
    (
        "HD-9003",
        -30,
        "Checkout page slow on mobile",
        "The spinner turns for a long time before the card form shows.",
        3,
    ),
    (
        "HD-9011",
        2,
        "Card payment fails with error 502 after pressing Pay",
        "Pressing Pay shows 'Bad gateway 502'; card not charged. Tried twice.",
        1,
    ),
    (
        "HD-9012",
        3,
        "Pay button error 502 bad gateway",
        "Same here: 502 when I press Pay, from Firefox.",
        1,
    ),
    (
        "HD-9013",
        5,
        "Order confirmation e-mail arrives twice",
        "Got two confirmation e-mails for order 55120.",
        4,
    ),
    (
        "HD-9014",
        6,
        "Checkout slow, card declined after spinner",
        "Spinner for a long time and then the card is declined.",
        2,
    ),
    (
        "HD-9015",
        8,
        "Refund amount shown in wrong currency",
        "Refund page shows USD instead of EUR for my refund; token=demo-not-a-secret-7Hk2",
        2,
    ),
]


def demo(users: dict, envs: dict) -> None:
    if SupportTicket.objects.filter(external_id__startswith="HD-90").exists():
        return
    manager = users.get("release_manager")
    deployer = users.get("deployer")
    deployment = (
        Deployment.objects.filter(
            environment__is_production=True, status="succeeded", finished_at__isnull=False
        )
        .select_related("release")
        .order_by("-finished_at")
        .first()
    )
    if deployment is None or manager is None:
        return
    service = deployment.release.release_services.select_related("service").first().service
    now = timezone.now()
    rows = []
    for external_id, hours, subject, text, rating in TICKETS:
        opened = min(deployment.finished_at + timedelta(hours=hours), now - timedelta(minutes=5))
        rows.append(
            {
                "external_id": external_id,
                "service": service.slug,
                "opened_at": opened,
                "subject": subject,
                "text": text,
                "rating": rating,
            }
        )
    created = triage.import_tickets(rows, deployer or manager, source="demo help desk")
    refund = next(t for t in created if t.external_id == "HD-9015")
    if refund.classification == "release_related":
        triage.override(
            refund,
            manager,
            "pre_existing",
            "Currency display bug is in the payment provider's refund page, not in this release.",
        )
