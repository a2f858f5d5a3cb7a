"""Demo data for environment booking and sequencing (called by ``seed_demo``; idempotent)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from releasemgr.decisions import DomainError
from releases.models import Release
from scheduling import reservations
from scheduling.models import ReleaseDependency, TestDataSet, ValidationNeed
from scheduling.sequencer import DONE_STATES

DATA_SETS = [
    (
        "cards-eu",
        "Test cards (EU)",
        "Card numbers and 3DS profiles for EU issuers.",
        ["test", "staging"],
    ),
    ("loyalty-members", "Loyalty members", "10,000 synthetic loyalty accounts.", ["test"]),
    (
        "catalog-full",
        "Full catalog snapshot",
        "Anonymised copy of the product catalog.",
        ["staging"],
    ),
]
# Hours of validation per environment, by position among the open releases.
NEEDS = [{"test": 8, "staging": 16}, {"test": 4, "staging": 24}, {"test": 12}, {"staging": 8}]


def demo(users: dict, envs: dict) -> None:
    """Capacities, test data sets, validation needs, a dependency and a few bookings."""
    developer = users.get("developer")
    manager = users.get("release_manager")
    with transaction.atomic():
        for slug, capacity in (("dev", 3), ("test", 2), ("staging", 1)):
            env = envs.get(slug)
            if env is not None and env.capacity != capacity and env.capacity == 1:
                env.capacity = capacity
                env.save_with_reason("demo capacity", user=manager)
        sets = {}
        for slug, name, description, env_slugs in DATA_SETS:
            data_set, created = TestDataSet.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description}
            )
            if created:
                data_set.environments.set([envs[s] for s in env_slugs if s in envs])
            sets[slug] = data_set
        open_releases = list(Release.objects.exclude(state__in=DONE_STATES).order_by("key")[:4])
        for release, needs in zip(open_releases, NEEDS, strict=False):
            for env_slug, hours in needs.items():
                if env_slug in envs:
                    ValidationNeed.objects.get_or_create(
                        release=release, environment=envs[env_slug], defaults={"hours": hours}
                    )
        if len(open_releases) >= 2:
            ReleaseDependency.objects.get_or_create(
                release=open_releases[1],
                after=open_releases[0],
                defaults={"reason": "Uses the API the first release adds."},
            )
        if open_releases and open_releases[0].deadline is None:
            first = open_releases[0]
            first.deadline = timezone.now() + timedelta(days=2)
            first.save_with_reason("demo deadline", user=manager)
    if developer is None or not open_releases:
        return
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    wanted = [
        (open_releases[0], "test", "integration", start, start + timedelta(hours=8), ["cards-eu"]),
        (
            open_releases[-1],
            "staging",
            "uat",
            start + timedelta(days=1),
            start + timedelta(days=2),
            [],
        ),
    ]
    for release, env_slug, purpose, begin, end, data_sets in wanted:
        if env_slug not in envs or release.reservations.exists():
            continue
        try:
            reservations.reserve(
                release,
                envs[env_slug],
                developer,
                purpose,
                begin,
                end,
                [sets[s] for s in data_sets],
                "Demo booking.",
            )
        except DomainError:
            continue  # the slot is taken on a later run; the demo does not force it
