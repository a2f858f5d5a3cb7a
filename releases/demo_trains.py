"""Demo data for release trains and shared-library versions (called by ``seed_demo``;
idempotent).

A fortnightly Storefront train carries a high-risk, tight-SLA payments release next to calm
catalog and profile releases, so the train page advises decoupling; services declare their
common-lib and observability-agent versions; the draft profile release pins common-lib 3.0.0
while the submitted checkout release pins 2.4.0, so the library view shows one pin conflict.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from releases import trains
from releases.models import Release, Service
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain, TrainCar

USAGES = [
    ("payments-api", "common-lib", "2.4.0"),
    ("checkout-service", "common-lib", "2.4.0"),
    ("auth-service", "common-lib", "2.3.1"),
    ("catalog-service", "observability-agent", "1.4.2"),
]
# release name (seed_demo) → pins
PINS = {
    "Checkout saved cards": [("common-lib", "2.4.0")],
    "Profile photo upload": [("common-lib", "3.0.0")],
}
CARS = ["Checkout saved cards", "Catalog search ranking", "Profile photo upload"]


def demo(users: dict, envs: dict) -> None:
    manager = users.get("release_manager")
    developer = users.get("developer")
    services = {s.slug: s for s in Service.objects.all()}
    train, created = ReleaseTrain.objects.get_or_create(
        slug="storefront",
        defaults={
            "name": "Storefront train",
            "cadence": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            "dtstart": datetime(2025, 1, 7, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")),
            "time_zone": "Europe/Berlin",
            "owner": manager,
            "description": "Storefront, catalog and account changes leave together every "
            "second Tuesday at 10:00 Berlin time.",
        },
    )
    if created:
        train.save_with_reason("demo train", user=manager)
    departure = trains.next_departures(train, 1)[0]
    for name in CARS:
        release = Release.objects.filter(name=name).first()
        if release is not None and not TrainCar.objects.filter(release=release).exists():
            TrainCar(train=train, release=release, departure=departure).save_with_reason(
                f"{release.key} joined the {train.name}", user=manager
            )
    for service, library, version in USAGES:
        if service in services and library in services:
            usage, made = LibraryUsage.objects.get_or_create(
                service=services[service], library=services[library], defaults={"version": version}
            )
            if made:
                usage.save_with_reason("declared (demo)", user=developer)
    for name, pins in PINS.items():
        release = Release.objects.filter(name=name).first()
        for library, version in pins:
            if release is None or library not in services:
                continue
            pin, made = ReleaseLibraryPin.objects.get_or_create(
                release=release, library=services[library], defaults={"version": version}
            )
            if made:
                pin.save_with_reason("pinned (demo)", user=developer)
