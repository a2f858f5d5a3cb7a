#!/usr/bin/env python
"""Benchmark: the sequencer (``scheduling.sequencer.plan``) at 200 releases × 10 environments
against a baseline of 20 releases × 3 environments, in the same run.

    .venv/bin/python tests/bench/bench_sequencer.py [--runs 7] [--releases 200] [--environments 10]

Runs in-process against a fresh SQLite file in a temporary folder, or against
BENCH_DATABASE_URL (an empty database you can throw away). Each release needs
4-40 h of validation in every environment of its set; about a third have a
deadline, one in ten a compliance deadline, one in four waits for an earlier
release; hard freezes (one recurring weekly) cover some environments, and
releases outside the plan already hold bookings. Prints seconds per plan
(median of ``--runs``), releases per second and SQL queries per plan. Exits 1
if the large plan takes more than ``--limit`` seconds (default 5) or if its
query count differs from the baseline's.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

START = datetime(2031, 1, 6, 8, 0, tzinfo=UTC)
NOW = START - timedelta(days=1)


def setup_django() -> None:
    var = Path(tempfile.mkdtemp(prefix="releasemgr-bench-seq-"))
    (var / "staticfiles").mkdir()
    os.environ["RELEASEMGR_VAR_DIR"] = str(var)
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasemgr.settings")
    os.environ["DJANGO_DEBUG"] = "0"
    import django

    django.setup()


def build(label: str, n_releases: int, n_envs: int, order_base: int, seed: int):
    """A set of environments and releases with needs, deadlines, dependencies, windows, bookings."""
    from django.contrib.auth.models import User

    from releases.models import Release, ReleaseService, Service, Team
    from scheduling.models import (
        Environment,
        FreezeWindow,
        ReleaseDependency,
        Reservation,
        ValidationNeed,
    )

    rng = random.Random(seed)
    author, _ = User.objects.get_or_create(username="bench-author")
    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    services = [
        Service.objects.get_or_create(
            slug=f"{label}-svc-{i}", defaults={"name": f"S{i}", "team": team}
        )[0]
        for i in range(8)
    ]
    envs = [
        Environment.objects.create(
            slug=f"{label}-env-{i}",
            name=f"{label} env {i}",
            order=order_base + i,
            capacity=1 + i % 3,
        )
        for i in range(n_envs)
    ]
    releases = Release.objects.bulk_create(
        [
            Release(
                key=f"BENCH-{label.upper()}-{i:04d}",
                name=f"{label} release {i}",
                version="1.0.0",
                author=author,
                owner=author,
                planned_start=START + timedelta(days=rng.randint(0, 80)),
                planned_end=None,
                deadline=START + timedelta(days=rng.randint(5, 60)) if i % 3 == 0 else None,
                compliance_deadline=START + timedelta(days=rng.randint(10, 70))
                if i % 10 == 0
                else None,
            )
            for i in range(n_releases)
        ]
    )
    releases = list(
        Release.objects.filter(key__startswith=f"BENCH-{label.upper()}-").order_by("key")
    )
    ReleaseService.objects.bulk_create(
        ReleaseService(release=r, service=services[i % len(services)], version="1.0.0")
        for i, r in enumerate(releases)
    )
    ValidationNeed.objects.bulk_create(
        ValidationNeed(release=r, environment=e, hours=rng.randint(4, 40))
        for r in releases
        for e in envs
    )
    ReleaseDependency.objects.bulk_create(
        ReleaseDependency(release=releases[i], after=releases[rng.randrange(0, i)])
        for i in range(1, n_releases)
        if i % 4 == 0
    )
    weekly = FreezeWindow.objects.create(
        name=f"{label} weekend freeze",
        start=START + timedelta(days=5),
        end=START + timedelta(days=6, hours=12),
        rrule="FREQ=WEEKLY",
    )
    weekly.environments.set(envs[::2])
    once = FreezeWindow.objects.create(
        name=f"{label} quarter-end freeze",
        start=START + timedelta(days=40),
        end=START + timedelta(days=44),
    )
    once.environments.set(envs[1::3])
    outsiders = Release.objects.bulk_create(
        Release(
            key=f"BENCH-{label.upper()}-X{i:03d}", name="outsider", version="1.0.0", author=author
        )
        for i in range(max(2, n_releases // 20))
    )
    Reservation.objects.bulk_create(
        Reservation(
            environment=envs[i % n_envs],
            release=outsider,
            purpose="uat",
            start=START + timedelta(days=i),
            end=START + timedelta(days=i, hours=rng.randint(4, 30)),
            reserved_by=author,
        )
        for i, outsider in enumerate(outsiders)
    )
    return releases, envs


def measure(releases, envs, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from scheduling import sequencer

    def once():
        return sequencer.plan(releases, envs, START, now=NOW)

    with CaptureQueriesContext(connection) as ctx:
        result = once()  # also the warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        once()
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    return {
        "seconds": seconds,
        "best": min(times),
        "releases_per_s": len(releases) / seconds if seconds else float("inf"),
        "queries": len(ctx.captured_queries),
        "slots": sum(len(r.slots) for r in result.releases),
        "missed": len(result.missed),
        "scheduled": sum(1 for r in result.releases if r.scheduled),
        "finish": result.finish,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="timed runs per size (median)")
    parser.add_argument("--releases", type=int, default=200)
    parser.add_argument("--environments", type=int, default=10)
    parser.add_argument(
        "--limit", type=float, default=5.0, help="seconds allowed for the large plan"
    )
    args = parser.parse_args()

    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    sizes = [
        ("baseline", 20, 3, 1000, 1),
        ("large", args.releases, args.environments, 2000, 2),
    ]
    results = {}
    for label, n_releases, n_envs, order_base, seed in sizes:
        releases, envs = build(label, n_releases, n_envs, order_base, seed)
        results[label] = (n_releases, n_envs, measure(releases, envs, args.runs))

    print(f"database: {connection.vendor}; timed runs per size: {args.runs} (median)\n")
    header = (
        f"{'size':9} {'releases':>8} {'envs':>5} {'slots':>6} {'s/plan':>8} {'best s':>8} "
        f"{'releases/s':>11} {'queries':>8} {'missed':>7}"
    )
    print(header)
    print("-" * len(header))
    for label, (n_releases, n_envs, r) in results.items():
        print(
            f"{label:9} {n_releases:8d} {n_envs:5d} {r['slots']:6d} {r['seconds']:8.3f} "
            f"{r['best']:8.3f} {r['releases_per_s']:11.0f} {r['queries']:8d} {r['missed']:7d}"
        )
    base, large = results["baseline"][2], results["large"][2]
    ratio = large["seconds"] / base["seconds"] if base["seconds"] else float("nan")
    print(
        f"\nlarge/baseline time: {ratio:.1f}x for {results['large'][0] * results['large'][1]} "
        f"vs {results['baseline'][0] * results['baseline'][1]} release-environment needs"
    )
    status = 0
    if large["seconds"] > args.limit:
        print(f"TOO SLOW: the large plan took {large['seconds']:.2f} s (limit {args.limit} s)")
        status = 1
    if large["queries"] != base["queries"]:
        print(f"QUERY COUNT GROWS WITH DATA: {base['queries']} → {large['queries']}")
        status = 1
    if status == 0:
        print(
            f"The large plan finishes in {large['seconds']:.2f} s with the same "
            f"{large['queries']} queries as the baseline."
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
