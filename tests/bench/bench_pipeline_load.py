#!/usr/bin/env python
"""Benchmark: the gate and deployment events under concurrent load, PostgreSQL behind gunicorn.

    .venv/bin/python tests/bench/bench_pipeline_load.py            # full size (a few minutes)
    .venv/bin/python tests/bench/bench_pipeline_load.py --releases 200 --windows 20 \\
        --deployments 2000 --seconds 3                              # smoke run (< 1 min)

What it does:
1. Creates a fresh PostgreSQL database (--db-name, on --pg-url; dropped at the end unless
   --keep-db) and builds the schema from the migrations, or straight from the models when the
   working tree has model changes that have no migration yet (said so in the output).
2. Seeds it fast with bulk inserts (not the lifecycle): teams, a few dozen services, five
   environments, regions, users and roles (sync_roles), a pipeline service account with a
   token, --releases releases (every state, 1-3 services each), --windows calendar windows
   (freeze, blackout, maintenance, release windows; most past or future, a few active, some
   recurring) and --deployments deployments (one running per deploying release) with
   --events-per-deployment events each. Prints seconds per 1,000 rows for each table.
3. Counts SQL queries for one request of each kind in-process (Django test client) and lists
   the slowest statements of a gate request and of an event request.
4. Starts gunicorn (``releasemgr.wsgi``, --workers x --threads, DJANGO_ENV=production,
   DEBUG off, plain http on 127.0.0.1) and drives it with --concurrency threads, each with
   one keep-alive http.client connection, for --seconds per endpoint:
   (a) baseline ``GET /api/v1/environments/`` (authenticated, trivial),
   (b) ``POST /api/v1/gate/`` for a mix of questions about real releases (and a few unknown
       versions) across environments and regions,
   (c) ``POST /api/v1/deployments/{id}/events/`` ``type=log`` spread over running deployments.
   Prints requests/s, p50 and p99 for each and the ratio to the baseline.

Exits 1 if any answer was not 2xx (or a connection failed), 0 otherwise.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TEAM_WORDS = ["payments", "identity", "catalog", "checkout", "platform", "data", "mobile", "ops"]
SERVICE_WORDS = ["api", "web", "worker", "batch", "gateway", "events", "search", "reports", "sync"]
ENVIRONMENTS = [("dev", False), ("test", False), ("staging", False), ("preprod", False)]
REGIONS = [
    ("eu-de", "Europe/Berlin"),
    ("us-east", "America/New_York"),
    ("apac-sg", "Asia/Singapore"),
]
STATE_WEIGHTS = {
    "closed": 34,
    "deployed": 20,
    "approved": 12,
    "deploying": 8,
    "submitted": 8,
    "draft": 10,
    "rejected": 3,
    "cancelled": 3,
    "rolled_back": 2,
}
# States whose releases have deployments behind them.
DEPLOYED_STATES = ("deploying", "deployed", "closed", "rolled_back")
WINDOW_KINDS = ["freeze", "blackout", "maintenance", "release_window"]
RULES = ["FREQ=WEEKLY;BYDAY=SA,SU", "FREQ=DAILY", "FREQ=MONTHLY;BYMONTHDAY=1"]
LOG_LINES = [
    "pulled image {svc}:{ver} on node-{n}",
    "step {n}/12 done: migrations applied",
    "health probe ok on node-{n} (p95 41 ms)",
    "retrying node-{n}: connection reset; DB_PASSWORD=hunter2 in env (must be redacted)",
    "traffic shifted to {n}0% of pods",
]


# --- database -----------------------------------------------------------------------------


def admin_sql(pg_url: str, sql: str) -> None:
    """Run CREATE/DROP DATABASE on the server's maintenance database (outside a transaction)."""
    import psycopg2

    conn = psycopg2.connect(pg_url.rstrip("/") + "/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def setup_django(database_url: str, var: Path) -> None:
    os.environ["RELEASEMGR_VAR_DIR"] = str(var)
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "releasemgr.settings"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ.pop("DJANGO_ENV", None)  # in-process: the test client speaks plain http
    import django

    django.setup()


def unmigrated_changes() -> bool:
    """Does the working tree have model changes without a migration (as during integration)?"""
    from django.apps import apps
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.state import ProjectState

    loader = MigrationLoader(None, ignore_no_migrations=True)
    detector = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps))
    return bool(detector.changes(graph=loader.graph))


def build_schema(mode: str) -> str:
    from django.apps import apps
    from django.conf import settings
    from django.core.management import call_command

    if mode == "auto":
        mode = "models" if unmigrated_changes() else "migrations"
    if mode == "models":
        # As pytest --no-migrations does: tables straight from the current models.
        settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
        call_command("migrate", run_syncdb=True, verbosity=0)
    else:
        call_command("migrate", verbosity=0)
    return mode


# --- seeding ------------------------------------------------------------------------------


class Timings:
    def __init__(self):
        self.rows: list[tuple[str, int, float]] = []

    def add(self, label: str, count: int, seconds: float) -> None:
        self.rows.append((label, count, seconds))
        if count < 1000:
            print(f"  {label:30} {count:9,d} rows {seconds:8.2f} s")
            return
        per = seconds / count * 1000
        print(f"  {label:30} {count:9,d} rows {seconds:8.2f} s  ({per:6.3f} s per 1,000 rows)")


def seed_catalog(timings: Timings) -> dict:
    from django.contrib.auth.models import Group, User

    from releasemgr.models import ApiToken
    from releasemgr.roles import sync_roles
    from releases.models import Service, Team
    from scheduling.models import Environment, Region

    t0 = time.perf_counter()
    sync_roles()
    users = {}
    for role in ("release_manager", "deployer", "cab_member", "developer", "pipeline"):
        user = User.objects.create(username=role, email=f"{role}@example.com")
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    authors = [users["developer"]] + [
        User.objects.create(username=f"dev{i:02d}", email=f"dev{i:02d}@example.com")
        for i in range(19)
    ]
    developers = Group.objects.get(name="developer")
    developers.user_set.add(*authors[1:])
    _, key = ApiToken.issue(users["pipeline"], "bench-load")
    timings.add("roles (sync_roles), users, token", User.objects.count(), time.perf_counter() - t0)

    t0 = time.perf_counter()
    teams = Team.objects.bulk_create(
        [Team(slug=w, name=w.title()) for w in TEAM_WORDS], batch_size=500
    )
    services = Service.objects.bulk_create(
        [
            Service(
                slug=f"{t.slug}-{w}",
                name=f"{t.name} {w}",
                team=t,
                tier=1 + (i % 3),
                customer_facing=i % 3 == 0,
            )
            for i, (t, w) in enumerate((t, w) for t in teams for w in SERVICE_WORDS[:5])
        ],
        batch_size=500,
    )
    envs = Environment.objects.bulk_create(
        [Environment(slug=s, name=s.title(), order=i * 10) for i, (s, _) in enumerate(ENVIRONMENTS)]
        + [Environment(slug="production", name="Production", order=100, is_production=True)]
    )
    regions = Region.objects.bulk_create(
        [Region(code=c, name=c.upper(), timezone=z) for c, z in REGIONS]
    )
    count = len(teams) + len(services) + len(envs) + len(regions)
    timings.add("teams, services, envs", count, time.perf_counter() - t0)
    return {
        "users": users,
        "authors": authors,
        "teams": teams,
        "services": services,
        "envs": envs,
        "regions": regions,
        "key": key,
    }


def seed_releases(count: int, cat: dict, rng: random.Random, now, timings: Timings) -> None:
    from releases.models import Release, ReleaseService

    states = list(STATE_WEIGHTS)
    weights = list(STATE_WEIGHTS.values())
    t0 = time.perf_counter()
    prefix = f"REL-{now.year}-"
    made = []
    for i in range(count):
        state = rng.choices(states, weights)[0]
        author = rng.choice(cat["authors"])
        # Past releases are closed/deployed; open ones are planned around now.
        if state in ("closed", "deployed", "rolled_back", "cancelled", "rejected"):
            start = now - timedelta(days=rng.randint(3, 720), hours=rng.randint(0, 23))
        else:
            start = now + timedelta(days=rng.randint(-10, 90), hours=rng.randint(0, 23))
        made.append(
            Release(
                key=f"{prefix}{i + 1:05d}",
                name=f"Load release {i + 1}",
                # Unique per release, so each (service, version) names one release.
                version=f"{1 + i // 10000}.{(i // 100) % 100}.{i % 100}",
                state=state,
                change_type=rng.choices(["normal", "standard", "emergency"], [80, 15, 5])[0],
                author=author,
                owner=cat["users"]["release_manager"],
                planned_start=start,
                planned_end=start + timedelta(hours=rng.choice([1, 2, 4])),
                approval_round=0 if state == "draft" else 1,
            )
        )
    Release.objects.bulk_create(made, batch_size=2000)
    timings.add("releases", count, time.perf_counter() - t0)

    t0 = time.perf_counter()
    links = []
    for release in made:
        for service in rng.sample(cat["services"], rng.choice([1, 1, 2, 3])):
            links.append(ReleaseService(release=release, service=service, version=release.version))
    ReleaseService.objects.bulk_create(links, batch_size=5000)
    timings.add("release services", len(links), time.perf_counter() - t0)


def seed_windows(count: int, cat: dict, rng: random.Random, now, timings: Timings) -> None:
    """Mostly past or future; ~3% active now (scoped, so most gate questions still pass them)."""
    from scheduling.models import FreezeWindow

    t0 = time.perf_counter()
    made, active = [], max(1, count * 3 // 100)
    for i in range(count):
        kind = rng.choices(WINDOW_KINDS, [5, 2, 2, 1])[0]
        recurring = rng.random() < 0.1
        if i < active:
            start = now - timedelta(hours=rng.randint(1, 48))
            length = timedelta(hours=rng.randint(49, 24 * 7))
        elif recurring:
            start = now - timedelta(days=rng.randint(30, 400))
            length = timedelta(hours=rng.choice([1, 2, 4]))
        else:
            offset = rng.randint(2, 400) * (1 if rng.random() < 0.4 else -1)
            start = now + timedelta(days=offset, hours=rng.randint(0, 23))
            length = timedelta(hours=rng.choice([2, 6, 24, 72, 24 * 7]))
        made.append(
            FreezeWindow(
                name=f"Load window {i + 1}",
                kind=kind,
                hardness=rng.choice(["hard", "hard", "soft"]),
                timezone=rng.choice(REGIONS)[1],
                start=start,
                end=start + length,
                rrule=rng.choice(RULES) if recurring and i >= active else "",
                created_by=cat["users"]["release_manager"],
            )
        )
    FreezeWindow.objects.bulk_create(made, batch_size=1000)
    through = {
        name: getattr(FreezeWindow, name).through
        for name in ("services", "teams", "environments", "regions")
    }
    links = {name: [] for name in through}
    for i, window in enumerate(made):
        # Active windows always scoped (to one service); the rest global 30% of the time.
        if i >= active and rng.random() < 0.3:
            continue
        pools = [
            ("services", "service", cat["services"], 1.0 if i < active else 0.5),
            ("teams", "team", cat["teams"], 0.0 if i < active else 0.3),
            ("environments", "environment", cat["envs"], 0.3),
            ("regions", "region", cat["regions"], 0.2),
        ]
        for name, field, pool, chance in pools:
            if rng.random() < chance:
                for obj in rng.sample(pool, rng.choice([1, 1, 2])):
                    links[name].append(
                        through[name](freezewindow_id=window.pk, **{f"{field}_id": obj.pk})
                    )
    for name, rows in links.items():
        through[name].objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    timings.add("windows (+ scope links)", count, time.perf_counter() - t0)


def seed_deployments(
    count: int, events_each: int, cat: dict, rng: random.Random, now, timings: Timings
) -> None:
    from releases.models import Deployment, DeploymentEvent, Release

    envs = cat["envs"]
    pipeline = cat["users"]["pipeline"]
    shipped = list(
        Release.objects.filter(state__in=DEPLOYED_STATES)
        .order_by("pk")
        .values_list("pk", "state", "planned_start")
    )
    deploying = [r for r in shipped if r[1] == "deploying"]
    if not shipped:
        return
    statuses, status_weights = ["succeeded", "failed", "rolled_back", "halted"], [86, 8, 4, 2]

    def one(release, status, env):
        started = (release[2] or now) - timedelta(minutes=rng.randint(0, 60 * 24 * 14))
        if status == "running":
            started = now - timedelta(minutes=rng.randint(1, 90))
        return Deployment(
            release_id=release[0],
            environment=env,
            region=rng.choice(["", "", cat["regions"][0].code, cat["regions"][1].code]),
            status=status,
            strategy=rng.choice(["rolling", "rolling", "blue_green", "canary"]),
            commit=secrets.token_hex(20),
            started_by=pipeline,
            started_at=started,
            finished_at=None if status == "running" else started + timedelta(minutes=12),
        )

    t0 = time.perf_counter()
    t_events = 0.0
    made = events = 0
    # One running deployment per deploying release (to staging or production).
    pending = [one(r, "running", rng.choice(envs[2:])) for r in deploying][:count]
    while made < count:
        while len(pending) < 5000 and made + len(pending) < count:
            release = rng.choice(shipped)
            pending.append(one(release, rng.choices(statuses, status_weights)[0], rng.choice(envs)))
        batch = Deployment.objects.bulk_create(pending, batch_size=5000)
        made += len(batch)
        pending = []
        if events_each:
            e0 = time.perf_counter()
            rows = []
            for dep in batch:
                for n in range(events_each - 1):
                    rows.append(
                        DeploymentEvent(
                            deployment_id=dep.pk,
                            type="node",
                            target=f"node-{n + 1}",
                            status="ok",
                            actor=pipeline,
                        )
                    )
                if dep.status != "running":
                    rows.append(
                        DeploymentEvent(
                            deployment_id=dep.pk,
                            type=dep.status,
                            status="ok" if dep.status == "succeeded" else "failed",
                            actor=pipeline,
                        )
                    )
            DeploymentEvent.objects.bulk_create(rows, batch_size=5000)
            events += len(rows)
            t_events += time.perf_counter() - e0
    timings.add("deployments", made, time.perf_counter() - t0 - t_events)
    if events_each:
        timings.add("deployment events", events, t_events)


def analyze(timings: Timings) -> None:
    """What autovacuum would have done by now on a real server: planner statistics."""
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    timings.add("VACUUM ANALYZE", 0, time.perf_counter() - t0)


# --- what to ask --------------------------------------------------------------------------


def gate_questions(cat: dict, rng: random.Random, n: int = 600) -> list[bytes]:
    """Mostly versions of releases a pipeline is working with; some old and some unknown."""
    from releases.models import ReleaseService

    links = list(
        ReleaseService.objects.filter(
            release__state__in=["approved", "deploying", "deployed", "submitted"]
        ).values_list("service__slug", "version")[:5000]
    )
    old = list(
        ReleaseService.objects.filter(release__state="closed").values_list(
            "service__slug", "version"
        )[:2000]
    )
    envs = [e.slug for e in cat["envs"]]
    regions = [r.code for r in cat["regions"]]
    out = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.75 and links:
            service, version = rng.choice(links)
        elif roll < 0.9 and old:
            service, version = rng.choice(old)
        else:
            service, version = rng.choice(cat["services"]).slug, f"77.{i % 100}.0"
        body = {"service": service, "version": version, "environment": rng.choice(envs)}
        if rng.random() < 0.3:
            body["region"] = rng.choice(regions)
        out.append(json.dumps(body).encode())
    return out


def gate_answer(body: bytes) -> str:
    answer = json.loads(body)
    return f"{answer['status']}{'' if answer['release'] else ' (no release)'}"


def running_deployments() -> list[int]:
    from releases.models import Deployment

    return list(Deployment.objects.filter(status="running").values_list("pk", flat=True))


def event_body(i: int, rng: random.Random) -> bytes:
    line = rng.choice(LOG_LINES).format(svc="svc", ver=f"1.{i % 50}.0", n=1 + i % 9)
    return json.dumps({"type": "log", "target": f"node-{1 + i % 9}", "message": line}).encode()


# --- in-process query counts --------------------------------------------------------------


class Recorder:
    """Every SQL statement a request runs, with its parameters."""

    def __init__(self):
        self.statements: list[tuple[str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, params))
        return execute(sql, params, many, context)


def server_time(sql: str, params) -> float:
    """PostgreSQL's own execution time of a SELECT, in ms (EXPLAIN ANALYZE): what the
    statement costs the database, apart from the client's CPU and round trips."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return float(plan[0]["Execution Time"])


def count_queries(key: str, questions: list[bytes], running: list[int], rng: random.Random):
    """Per request kind: SQL statements (min-max over a few requests), the wall time of one
    request in-process, and the SELECTs that cost PostgreSQL the most (EXPLAIN ANALYZE)."""
    from django.db import connection
    from django.test import Client

    api = Client(HTTP_AUTHORIZATION=f"Token {key}")

    def post(path, body):
        response = api.post(path, body, content_type="application/json")
        assert response.status_code in (200, 201), (path, response.status_code, response.content)
        return response

    calls = {
        "baseline": [lambda: api.get("/api/v1/environments/") for _ in range(3)],
        "gate": [lambda b=b: post("/api/v1/gate/", b) for b in rng.sample(questions, 20)],
        "events": [
            lambda d=d, i=i: post(f"/api/v1/deployments/{d}/events/", event_body(i, rng))
            for i, d in enumerate(rng.sample(running, min(8, len(running))))
        ],
    }
    report = {}
    for name, fns in calls.items():
        fns[0]()  # warm-up (token last-used write, caches)
        seen, walls, selects = [], [], {}
        for fn in fns:
            recorder = Recorder()
            t0 = time.perf_counter()
            with connection.execute_wrapper(recorder):
                fn()
            walls.append((time.perf_counter() - t0) * 1000)
            seen.append(len(recorder.statements))
            for sql, params in recorder.statements:
                if sql.lstrip().upper().startswith("SELECT") and "FOR UPDATE" not in sql:
                    selects.setdefault(sql, params)  # one plan per statement shape
        costly = sorted(((server_time(sql, p), sql) for sql, p in selects.items()), reverse=True)
        report[name] = {
            "queries": (min(seen), max(seen)),
            "wall_p50": statistics.median(walls),
            "slowest": costly[:3],
        }
    return report


# --- gunicorn and the load driver ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(args, database_url: str, var: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DJANGO_ENV="production",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",  # a TLS proxy would sit in front; here plain http locally
        DATABASE_URL=database_url,
        RELEASEMGR_VAR_DIR=str(var),
        LOG_LEVEL="WARNING",
    )
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "releasemgr.wsgi",
        "-w",
        str(args.workers),
        "--threads",
        str(args.threads),
        "-b",
        f"127.0.0.1:{port}",
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
    ]
    with open(var / "gunicorn.log", "ab") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode}); see {var / 'gunicorn.log'}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/environments/", headers=headers(args.key))
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return proc
            raise SystemExit(f"gunicorn answers {status}; see {var / 'gunicorn.log'}")
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise SystemExit("gunicorn did not start within 60 s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)  # our own session: gunicorn master and its workers
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def headers(key: str) -> dict:
    return {
        "Authorization": f"Token {key}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def drive(port: int, key: str, make, seconds: float, concurrency: int, classify=None) -> dict:
    """``concurrency`` threads, one keep-alive connection each, for ``seconds``.

    ``make(i)`` returns (method, path, body) for the thread-local request number ``i``;
    ``classify(body)`` (optional) names what a 2xx answer said, to count the mix.
    """
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    statuses: list[Counter] = [Counter() for _ in range(concurrency)]
    kinds: list[Counter] = [Counter() for _ in range(concurrency)]
    samples: list[str] = []
    start = threading.Barrier(concurrency + 1)
    window = {}

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        hdrs = headers(key)
        i = n
        start.wait()
        deadline = window["end"]
        while time.perf_counter() < deadline:
            method, path, body = make(i)
            i += concurrency
            t0 = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=hdrs)
                response = conn.getresponse()
                data = response.read()
                status = response.status
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                status, data = 0, repr(error).encode()
            latencies[n].append((time.perf_counter() - t0) * 1000)
            statuses[n][status] += 1
            if classify is not None and 200 <= status < 300:
                kinds[n][classify(data)] += 1
            if not 200 <= status < 300 and len(samples) < 5:
                samples.append(f"{status} {method} {path}: {data[:300]!r}")
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    began = time.perf_counter()
    window["end"] = began + seconds
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    times = [x for part in latencies for x in part]
    total = Counter()
    for c in statuses:
        total.update(c)
    q = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else [0] * 99
    return {
        "requests": len(times),
        "rps": len(times) / elapsed,
        "p50": q[49],
        "p99": q[98],
        "bad": sum(v for s, v in total.items() if not 200 <= s < 300),
        "statuses": dict(total),
        "samples": samples,
        "kinds": sum(kinds, Counter()),
    }


# --- main ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--windows", type=int, default=1_000)
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument(
        "--events-per-deployment",
        type=int,
        default=2,
        help="events seeded per deployment (a node result, and the final one if finished)",
    )
    parser.add_argument("--concurrency", type=int, default=12, help="client threads")
    parser.add_argument("--seconds", type=float, default=20.0, help="load time per endpoint")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (0: a free one)")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server (no database name); env BENCH_PG_URL",
    )
    parser.add_argument("--db-name", default="rm_bench_load", help="database to (re)create")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--schema",
        choices=["auto", "migrations", "models"],
        default="auto",
        help="build tables from the migrations, from the models (as pytest --no-migrations), "
        "or auto: the models only when they have changes without a migration",
    )
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    var_parent = os.environ.get("RELEASEMGR_VAR_DIR")
    if var_parent:
        Path(var_parent).mkdir(parents=True, exist_ok=True)
    var = Path(tempfile.mkdtemp(prefix="bench-load-", dir=var_parent or None))
    (var / "staticfiles").mkdir()
    database_url = f"{args.pg_url.rstrip('/')}/{args.db_name}"
    admin_sql(args.pg_url, f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
    admin_sql(args.pg_url, f'CREATE DATABASE "{args.db_name}"')
    proc = None
    try:
        setup_django(database_url, var)
        from django.db import connection
        from django.utils import timezone

        timings = Timings()
        print(f"database {args.db_name} on {args.pg_url}; var dir {var}")
        t0 = time.perf_counter()
        args.schema_used = build_schema(args.schema)
        print(
            f"schema from the {args.schema_used} in {time.perf_counter() - t0:.1f} s"
            + (
                " (the working tree has model changes without migrations)"
                if args.schema_used == "models" and args.schema == "auto"
                else ""
            )
        )
        print("seeding:")
        now = timezone.now().replace(microsecond=0)
        seed_start = time.perf_counter()
        cat = seed_catalog(timings)
        args.key = cat["key"]
        seed_releases(args.releases, cat, rng, now, timings)
        seed_windows(args.windows, cat, rng, now, timings)
        seed_deployments(args.deployments, args.events_per_deployment, cat, rng, now, timings)
        analyze(timings)
        print(f"  {'total':30} {'':14} {time.perf_counter() - seed_start:8.2f} s")

        questions = gate_questions(cat, rng)
        running = running_deployments()
        if not running:
            raise SystemExit("no running deployments to report events on; raise --releases")
        inproc = count_queries(cat["key"], questions, running, rng)
        connection.close()  # the server gets the database to itself

        port = args.port or free_port()
        proc = start_gunicorn(args, database_url, var, port)
        print(
            f"\ngunicorn releasemgr.wsgi -w {args.workers} --threads {args.threads} on :{port} "
            f"(DJANGO_ENV=production, DEBUG off); {args.concurrency} clients, "
            f"{args.seconds:g} s per endpoint; {len(running)} running deployments, "
            f"{len(questions)} gate questions\n"
        )
        load = {
            "GET /api/v1/environments/ (baseline)": (
                "baseline",
                lambda i: ("GET", "/api/v1/environments/", None),
            ),
            "POST /api/v1/gate/": (
                "gate",
                lambda i: ("POST", "/api/v1/gate/", questions[i % len(questions)]),
            ),
            "POST /api/v1/deployments/{id}/events/": (
                "events",
                lambda i: (
                    "POST",
                    f"/api/v1/deployments/{running[(i * 7919) % len(running)]}/events/",
                    event_body(i, random.Random(i)),
                ),
            ),
        }
        # Warm every worker and thread up (imports, connections) before timing.
        for _, make in load.values():
            drive(port, args.key, make, min(2.0, args.seconds), args.concurrency)
        load_before = os.getloadavg()
        results = {
            name: drive(
                port,
                args.key,
                make,
                args.seconds,
                args.concurrency,
                gate_answer if name == "POST /api/v1/gate/" else None,
            )
            for name, (_, make) in load.items()
        }
        load_after = os.getloadavg()
    finally:
        if proc is not None:
            stop(proc)
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            admin_sql(args.pg_url, f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')

    header = (
        f"{'endpoint':40} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'x rps':>6} {'x p50':>6} {'non-2xx':>7} {'queries':>8}"
    )
    print(header)
    print("-" * len(header))
    base = results["GET /api/v1/environments/ (baseline)"]
    bad = 0
    for name, r in results.items():
        low, high = inproc[load[name][0]]["queries"]
        queries = f"{low}" if low == high else f"{low}-{high}"
        print(
            f"{name:40} {r['requests']:8d} {r['rps']:8.1f} {r['p50']:8.1f} {r['p99']:8.1f} "
            f"{r['rps'] / base['rps']:6.2f} {r['p50'] / base['p50']:6.2f} {r['bad']:7d} "
            f"{queries:>8}"
        )
        bad += r["bad"]
    print("(x rps, x p50: ratio to the baseline; queries: SQL statements per request, in-process)")
    mix = results["POST /api/v1/gate/"]["kinds"]
    print(
        "gate answers: "
        + ", ".join(f"{kind} {count}" for kind, count in sorted(mix.items()))
        + f"\nload average (1 min) before/after the load: {load_before[0]:.1f}/{load_after[0]:.1f} "
        f"on {os.cpu_count()} CPUs (client, gunicorn and PostgreSQL share them)"
    )
    for name in ("gate", "events"):
        r = inproc[name]
        print(
            f"\n{name}: in-process, one client, median {r['wall_p50']:.1f} ms per request; "
            "costliest SELECTs in PostgreSQL (EXPLAIN ANALYZE execution time):"
        )
        for ms, sql in r["slowest"]:
            print(f"  {ms:7.3f} ms  {' '.join(sql.split())[:140]}")
    print(
        f"\nseeded: {args.releases:,} releases, {args.windows:,} windows, "
        f"{args.deployments:,} deployments; database "
        + (f"kept: {database_url}" if args.keep_db else "dropped")
    )
    if bad:
        print(f"\nNON-2XX ANSWERS: {bad}")
        for name, r in results.items():
            if r["bad"]:
                print(f"  {name}: {r['statuses']}")
                for sample in r["samples"]:
                    print(f"    {sample}")
        return 1
    print("Every answer was 2xx.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
