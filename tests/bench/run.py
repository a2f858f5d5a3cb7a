#!/usr/bin/env python
"""Benchmarks: gate and list endpoints at a small (baseline) and a large data size.

    .venv/bin/python tests/bench/run.py [--rows 2000] [--requests 200]

Runs in-process (Django test client, no network) against a fresh SQLite file in
a temporary folder, or against BENCH_DATABASE_URL (an empty database you can
throw away). Prints requests/s, p50/p99 latency and SQL queries per request for
each endpoint at both sizes, and the ratio large/baseline. Exits 1 if an
endpoint's query count grows with the data (it must be bounded).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    var = Path(tempfile.mkdtemp(prefix="releasemgr-bench-"))
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


def build_base():
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from releasemgr.models import ApiToken

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    pipeline = User.objects.get(username="pipeline")
    _, key = ApiToken.issue(pipeline, "bench")
    manager = User.objects.get(username="release_manager")
    manager.groups.add(Group.objects.get(name="release_manager"))
    return key, manager


def grow_to(rows: int) -> None:
    """Add releases (each shipping two services) until there are ``rows`` releases."""
    from django.contrib.auth.models import User

    from releases.models import Release, ReleaseService, Service

    author = User.objects.get(username="developer")
    services = list(Service.objects.all())
    have = Release.objects.count()
    batch = []
    year_prefix = Release._next_key().rsplit("-", 1)[0]
    start = int(Release._next_key().rsplit("-", 1)[1])
    for i in range(rows - have):
        batch.append(
            Release(
                key=f"{year_prefix}-{start + i:04d}",
                name=f"Bench release {i}",
                version=f"9.{i // 100}.{i % 100}",
                author=author,
                owner=author,
            )
        )
    Release.objects.bulk_create(batch, batch_size=500)
    links = []
    for i, release in enumerate(Release.objects.filter(name__startswith="Bench release")):
        for offset in (0, 5):
            service = services[(i + offset) % len(services)]
            links.append(ReleaseService(release=release, service=service, version=release.version))
    ReleaseService.objects.bulk_create(links, batch_size=1000, ignore_conflicts=True)


def measure(name: str, call, requests: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm-up
    with CaptureQueriesContext(connection) as ctx:
        call()
    queries = len(ctx.captured_queries)
    times = []
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(times, n=100, method="inclusive")
    return {"name": name, "rps": requests / elapsed, "p50": q[49], "p99": q[98], "queries": queries}


def endpoints(key: str, manager):
    from django.test import Client

    api = Client(HTTP_AUTHORIZATION=f"Token {key}")
    web = Client()
    web.force_login(manager)

    def ok(response):
        assert response.status_code == 200, (response.status_code, response.content[:300])
        return response

    body = {"service": "auth-service", "version": "5.0.1", "environment": "staging"}
    return {
        "POST /api/v1/gate/": lambda: ok(
            api.post("/api/v1/gate/", body, content_type="application/json")
        ),
        "GET /api/v1/releases/": lambda: ok(api.get("/api/v1/releases/")),
        "GET /api/v1/releases/?state=draft": lambda: ok(api.get("/api/v1/releases/?state=draft")),
        "GET /api/v1/services/": lambda: ok(api.get("/api/v1/services/")),
        "GET /releases/ (HTML)": lambda: ok(web.get("/releases/")),
        "GET / (dashboard)": lambda: ok(web.get("/")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--baseline",
        type=int,
        default=100,
        help="releases in the baseline data set (enough to fill a page)",
    )
    parser.add_argument("--rows", type=int, default=2000, help="releases in the large data set")
    parser.add_argument("--requests", type=int, default=200, help="requests per endpoint and size")
    args = parser.parse_args()

    setup_django()
    from django.db import connection

    from releases.models import Release

    key, manager = build_base()
    results = {}
    sizes = [("baseline", args.baseline), ("large", args.rows)]
    for label, rows in sizes:
        grow_to(rows)
        count = Release.objects.count()
        for name, call in endpoints(key, manager).items():
            results[(label, name)] = measure(name, call, args.requests)
        sizes[sizes.index((label, rows))] = (label, count)

    print(f"database: {connection.vendor}; requests per endpoint: {args.requests}")
    print(f"sizes: {', '.join(f'{label}={count} releases' for label, count in sizes)}\n")
    header = f"{'endpoint':36} {'size':9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'queries':>8}"
    print(header)
    print("-" * len(header))
    unbounded = []
    for name in endpoints(key, manager):
        base, large = results[("baseline", name)], results[("large", name)]
        for label, r in (("baseline", base), ("large", large)):
            print(
                f"{name:36} {label:9} {r['rps']:8.1f} {r['p50']:8.2f} {r['p99']:8.2f} {r['queries']:8d}"
            )
        ratio = large["p50"] / base["p50"] if base["p50"] else float("nan")
        print(f"{'':36} {'ratio':9} {'':8} {ratio:8.2f}x")
        if large["queries"] > base["queries"]:
            unbounded.append(name)
    if unbounded:
        print("\nQUERY COUNT GROWS WITH DATA: " + ", ".join(unbounded))
        return 1
    print("\nQuery counts are the same at both sizes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
