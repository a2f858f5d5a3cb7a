"""Demo data for planning: regions with go-live rules, vendor deliverables, deadlines.

``demo(users, envs)`` is called by ``seed_demo`` after the demo releases exist;
it is idempotent (looks rows up by natural keys) and skips releases that are
not there.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from releases.models import Release, Service
from scheduling.models import GoLiveRule, Region, ValidationNeed, VendorDeliverable

REGIONS = [
    # code, name, time zone, country, rollout order
    ("eu-de", "Germany", "Europe/Berlin", "DE", 1),
    ("us-east", "US East", "America/New_York", "US", 2),
    ("apac-sg", "Singapore", "Asia/Singapore", "SG", 3),
]


def _day(days: int, hour: int = 9):
    base = timezone.now().replace(minute=0, second=0, microsecond=0)
    return (base + timedelta(days=days)).replace(hour=hour)


def _release(name: str) -> Release | None:
    return Release.objects.filter(name=name).order_by("created").first()


def demo(users, envs) -> None:
    manager = users.get("release_manager")
    regions = {}
    for code, name, tz, country, order in REGIONS:
        regions[code], _ = Region.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "timezone": tz,
                "country_code": country,
                "rollout_order": order,
            },
        )

    payments = Service.objects.filter(slug="payments-api").first()
    if (
        payments is not None
        and not GoLiveRule.objects.filter(service=payments, region=regions["apac-sg"]).exists()
    ):
        rule = GoLiveRule(
            region=regions["apac-sg"],
            service=payments,
            earliest_at=_day(12, 2),
            legal_basis="MAS TRM: notify the regulator 10 business days before a payments change",
        )
        rule.save_with_reason("demo", user=manager)

    checkout = _release("Checkout saved cards")
    if checkout is not None:
        if checkout.compliance_deadline is None:
            checkout.deadline = _day(12, 17)
            checkout.compliance_deadline = _day(14, 17)
            checkout.save_with_reason("deadlines: PSD2 audit finding due", user=manager)
        if not GoLiveRule.objects.filter(release=checkout, region=regions["eu-de"]).exists():
            rule = GoLiveRule(
                region=regions["eu-de"],
                release=checkout,
                earliest_at=_day(11, 6),
                legal_basis="BaFin: 4-week notice of material outsourcing change (§ 25b KWG)",
            )
            rule.save_with_reason("demo", user=manager)
        if not VendorDeliverable.objects.filter(release=checkout).exists():
            item = VendorDeliverable(
                release=checkout,
                vendor="Acme Payments",
                description="PSD2 SCA SDK 4.2 (certified build)",
                expected_at=_day(8, 12),
                buffer_hours=48,
            )
            item.save_with_reason("added", user=manager)
            done = VendorDeliverable(
                release=checkout,
                vendor="CardVault",
                description="Tokenisation API sandbox credentials",
                expected_at=_day(-3, 10),
                delivered_at=_day(-4, 15),
                buffer_hours=24,
            )
            done.save_with_reason("added", user=manager)
        staging = envs.get("staging")
        if staging is not None:
            ValidationNeed.objects.get_or_create(
                release=checkout, environment=staging, defaults={"hours": 24}
            )

    profile = _release("Profile photo upload")
    if profile is not None and not VendorDeliverable.objects.filter(release=profile).exists():
        # Arrives too late for the current plan: the Schedule tab proposes a new slot.
        item = VendorDeliverable(
            release=profile,
            vendor="PixelGuard",
            description="Image moderation API contract",
            expected_at=_day(20, 9),
            buffer_hours=72,
        )
        item.save_with_reason("added", user=manager)
