#!/usr/bin/env python
"""Benchmark: "what applies now" with 1,000 calendar windows vs a 10-window baseline.

    .venv/bin/python tests/bench/bench_windows.py [--windows 1000] [--baseline 10] [--calls 300]

Runs in-process against a fresh SQLite file in a temporary folder (or BENCH_DATABASE_URL, an
empty database you can throw away). Both sizes are measured in the same run: the baseline's
windows first, then the large set added to them. The windows mix one-off and recurring
(daily, weekly, monthly business-day rules in several time zones), global and scoped (services,
teams, environments, regions) and every kind.

Measured, each at a different moment and scope per call:
- ``windows_at``: every occurrence active at a moment for a service/environment/region
  (what the calendar, the jobs and ``/api/v1/windows/applicable/`` ask);
- ``check_windows``: the gate's calendar checks (freeze, blackout, release window, retry_after);
- ``GET /api/v1/windows/applicable/``: the same question over HTTP with a token.

Prints p50/p99 latency in ms, calls/s and SQL queries per call for each at both sizes. Exits 1
if a call's query count grows with the data or its p50 exceeds --budget-ms (default 50).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Singapore"]
RULES = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=WEEKLY;BYDAY=SA,SU",
    "FREQ=WEEKLY;BYDAY=SU",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-3,-2,-1",
    "FREQ=MONTHLY;BYMONTHDAY=1",
]
KINDS = ["freeze", "blackout", "maintenance", "release_window"]


def setup_django() -> None:
    var = Path(tempfile.mkdtemp(prefix="releasemgr-bench-windows-"))
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


def build_catalog():
    """Teams, services, environments, regions and a service account with a token."""
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from releasemgr.models import ApiToken
    from releasemgr.roles import sync_roles
    from releases.models import Service, Team
    from scheduling.models import Environment, Region

    call_command("migrate", verbosity=0)
    sync_roles()
    teams = [Team.objects.create(slug=f"team-{i}", name=f"Team {i}") for i in range(10)]
    services = [
        Service.objects.create(slug=f"svc-{i}", name=f"Service {i}", team=teams[i % 10])
        for i in range(50)
    ]
    envs = [
        Environment.objects.create(slug=slug, name=slug.title(), order=i, is_production=i == 4)
        for i, slug in enumerate(["dev", "test", "staging", "preprod", "production"])
    ]
    regions = [
        Region.objects.create(code=f"r-{i}", name=f"Region {i}", timezone=ZONES[i % len(ZONES)])
        for i in range(8)
    ]
    pipeline = User.objects.create(username="pipeline")
    pipeline.groups.add(Group.objects.get(name="pipeline"))
    _, key = ApiToken.issue(pipeline, "bench")
    return {"teams": teams, "services": services, "envs": envs, "regions": regions, "key": key}


def add_windows(count: int, catalog: dict, rng: random.Random, now) -> None:
    """``count`` windows: ~40% recurring, ~40% global, the rest scoped to one or two things."""
    from scheduling.models import FreezeWindow

    through = {
        name: getattr(FreezeWindow, name).through
        for name in ("services", "teams", "environments", "regions")
    }
    links = {name: [] for name in through}
    made = []
    for i in range(count):
        zone = rng.choice(ZONES)
        recurring = rng.random() < 0.4
        if recurring:
            start = now - timedelta(days=rng.randint(30, 400), hours=rng.randint(0, 23))
            length = timedelta(hours=rng.choice([1, 2, 4, 8, 24]))
            rule = rng.choice(RULES)
        else:
            start = now + timedelta(hours=rng.randint(-24 * 60, 24 * 120))
            length = timedelta(hours=rng.choice([2, 6, 24, 72, 24 * 7]))
            rule = ""
        made.append(
            FreezeWindow(
                name=f"Bench window {i}",
                kind=rng.choices(KINDS, weights=[5, 2, 2, 1])[0],
                hardness=rng.choice(["hard", "hard", "soft"]),
                timezone=zone,
                start=start,
                end=start + length,
                rrule=rule,
                allowed_change_types=rng.choice([[], [], ["emergency"], ["standard", "emergency"]]),
            )
        )
    created = FreezeWindow.objects.bulk_create(made, batch_size=500)
    for window in created:
        if rng.random() < 0.4:
            continue  # global
        for name, field, pool in (
            ("services", "service", catalog["services"]),
            ("teams", "team", catalog["teams"]),
            ("environments", "environment", catalog["envs"]),
            ("regions", "region", catalog["regions"]),
        ):
            if rng.random() < 0.35:
                for obj in rng.sample(pool, rng.choice([1, 1, 2])):
                    links[name].append(
                        through[name](freezewindow_id=window.pk, **{f"{field}_id": obj.pk})
                    )
    for name, rows in links.items():
        through[name].objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def measure(name: str, call, calls: int, rng: random.Random) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    seeds = [rng.random() for _ in range(calls)]
    call(0.5)  # warm-up (fills the per-process rule cache as a running server would)
    with CaptureQueriesContext(connection) as ctx:
        call(0.25)
    queries = len(ctx.captured_queries)
    times = []
    started = time.perf_counter()
    for seed in seeds:
        t0 = time.perf_counter()
        call(seed)
        times.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {"name": name, "rps": calls / elapsed, "p50": q[49], "p99": q[98], "queries": queries}


def questions(catalog: dict, now):
    """The calls to time; each takes a number in [0, 1) that picks the moment and the scope."""
    from django.test import Client

    from scheduling.windows import Scope, check_windows, windows_at

    services, envs, regions = catalog["services"], catalog["envs"], catalog["regions"]
    api = Client(HTTP_AUTHORIZATION=f"Token {catalog['key']}")

    def pick(seed):
        i = int(seed * 10_000)
        return (
            now + timedelta(minutes=i * 7 % (60 * 24 * 60)),
            services[i % len(services)],
            envs[i % len(envs)],
            regions[i % len(regions)],
        )

    def what_applies(seed):
        at, service, env, region = pick(seed)
        return windows_at(at, Scope.of([service], env, region))

    def gate_checks(seed):
        at, service, env, region = pick(seed)
        return check_windows(None, [service], env, region, at)

    def over_http(seed):
        at, service, env, region = pick(seed)
        response = api.get(
            "/api/v1/windows/applicable/",
            {
                "service": service.slug,
                "environment": env.slug,
                "region": region.code,
                "at": at.isoformat(),
            },
        )
        assert response.status_code == 200, response.content[:300]
        return response

    return {
        "windows_at (what applies now)": what_applies,
        "check_windows (gate checks)": gate_checks,
        "GET /api/v1/windows/applicable/": over_http,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", type=int, default=10, help="windows in the baseline set")
    parser.add_argument("--windows", type=int, default=1000, help="windows in the large set")
    parser.add_argument("--calls", type=int, default=300, help="timed calls per question and size")
    parser.add_argument("--budget-ms", type=float, default=50.0, help="p50 budget per call")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    setup_django()
    from django.db import connection
    from django.utils import timezone

    from scheduling.models import FreezeWindow

    rng = random.Random(args.seed)
    now = timezone.now().replace(microsecond=0)
    catalog = build_catalog()
    results, sizes = {}, []
    for label, target in (("baseline", args.baseline), ("large", args.windows)):
        add_windows(target - FreezeWindow.objects.count(), catalog, rng, now)
        total = FreezeWindow.objects.count()
        recurring = FreezeWindow.objects.exclude(rrule="").count()
        sizes.append(f"{label}={total} windows ({recurring} recurring)")
        for name, call in questions(catalog, now).items():
            results[(label, name)] = measure(name, call, args.calls, random.Random(args.seed))

    print(f"database: {connection.vendor}; timed calls per question and size: {args.calls}")
    print(f"sizes: {', '.join(sizes)}\n")
    header = f"{'question':34} {'size':9} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'queries':>8}"
    print(header)
    print("-" * len(header))
    problems = []
    for name in questions(catalog, now):
        base, large = results[("baseline", name)], results[("large", name)]
        for label, r in (("baseline", base), ("large", large)):
            print(
                f"{name:34} {label:9} {r['rps']:9.1f} {r['p50']:8.2f} {r['p99']:8.2f} "
                f"{r['queries']:8d}"
            )
        ratio = large["p50"] / base["p50"] if base["p50"] else float("nan")
        print(f"{'':34} {'ratio':9} {'':9} {ratio:7.2f}x")
        if large["queries"] > base["queries"]:
            problems.append(f"{name}: query count grows with the data")
        if large["p50"] > args.budget_ms:
            problems.append(f"{name}: p50 {large['p50']:.1f} ms > {args.budget_ms} ms")
    if problems:
        print("\nPROBLEMS:\n- " + "\n- ".join(problems))
        return 1
    print(f"\nQuery counts are the same at both sizes; every p50 is within {args.budget_ms} ms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
