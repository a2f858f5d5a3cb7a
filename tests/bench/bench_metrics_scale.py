#!/usr/bin/env python
"""Benchmark: delivery metrics (DORA, MTTR, success rate) over 1,000,000 deployments on PostgreSQL.

    .venv/bin/python tests/bench/bench_metrics_scale.py                # full size (long)
    .venv/bin/python tests/bench/bench_metrics_scale.py --deployments 20000 --incidents 2000
                                                                       # smoke run (~1 min)

What it does:
1. Creates two fresh PostgreSQL databases on --pg-url: ``<db-name>_base`` (the baseline) and
   ``<db-name>`` (the large one), dropped at the end unless --keep-db. The schema is built
   once (from the migrations, or from the models when the working tree has model changes
   without a migration, as ``pytest --no-migrations``), with the catalog (--teams teams,
   --services services with a domain each, a staging and a production environment, a user),
   and the large database is a copy of it (``CREATE DATABASE ... TEMPLATE``).
2. Imports a generated delivery history through the history import
   (``metrics.history.import_lines``, the function behind ``manage.py import_history``):
   --baseline-deployments deployments (and incidents in the same proportion) into the baseline,
   --deployments deployments (1-3 commits each; 70% production; 85% succeeded, 10% failed,
   5% rolled back; spread over the last 400 days) and --incidents incidents (half of them
   caused by a named production deployment of their service, 90% resolved) into the large
   one, --chunk lines per call. Prints lines per second. Then ``VACUUM ANALYZE``.
3. Times each figure (DORA, MTTR, success rate) for the last 365 days, for all teams and for
   one team, on both databases: seconds (first call, and the median of --repeat more calls),
   the number of SQL statements, and at the large size the slowest statement's PostgreSQL
   execution time (EXPLAIN ANALYZE; --plans prints its plan). Prints the ratio to the
   baseline. The success rate judges releases, and imported history names none: before
   timing, the production records are grouped into releases (--records-per-release each).

Exits 1 when a figure's query count grows with the data (the figures must come from
database aggregation, not from Python loops over rows), 0 otherwise.
--skip-import reuses databases kept by an earlier --keep-db run (steps 1-2 skipped).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline_load import (  # noqa: E402  (the same database helpers)
    admin_sql,
    build_schema,
    setup_django,
)

TEAM_WORDS = ["payments", "identity", "catalog", "checkout", "platform", "data", "mobile", "ops"]
SERVICE_WORDS = ["api", "web", "worker", "batch", "gateway", "events", "search", "reports", "sync"]
DOMAINS = ["commerce", "customer", "core", "insight"]
SEVERITIES = (["critical", "high", "medium", "low"], [5, 20, 45, 30])
STATUSES = (["succeeded", "failed", "rolled_back"], [85, 10, 5])
SPAN_DAYS = 400  # history generated over the last 400 days; figures over the last 365


# --- the generated history -----------------------------------------------------------------


class History:
    """Deterministic lines for the import: deployment ``i`` is the same whenever it is asked
    for (an incident can name it as its cause without keeping a million lines in memory)."""

    def __init__(self, services: list[str], now: datetime, seed: int, prefix: str):
        self.services = services
        self.now = now
        self.seed = seed
        self.prefix = prefix

    def deployment(self, i: int) -> dict:
        rng = random.Random(self.seed * 10_000_019 + i)
        service = self.services[rng.randrange(len(self.services))]
        production = rng.random() < 0.7
        finished = self.now - timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
        started = finished - timedelta(seconds=rng.randrange(120, 2400))
        commits = []
        for j in range(rng.choice([1, 1, 2, 3])):
            sha = hashlib.sha1(f"{self.prefix}{i}.{j}".encode()).hexdigest()
            authored = started - timedelta(seconds=rng.randrange(3600, 10 * 86400))
            commits.append({"sha": sha, "authored_at": iso(authored)})
        return {
            "kind": "deployment",
            "external_id": f"{self.prefix}dep-{i:07d}",
            "service": service,
            "environment": "production" if production else "staging",
            "version": f"{1 + i // 100000}.{(i // 1000) % 100}.{i % 1000}",
            "started_at": iso(started),
            "finished_at": iso(finished),
            "status": rng.choices(*STATUSES)[0],
            "commits": commits,
        }

    def incident(self, k: int, deployments: int) -> dict:
        rng = random.Random(self.seed * 7_000_003 + k + 1)
        caused_by = None
        if rng.random() < 0.5:
            # Caused by a named production deployment: starts up to 20 h after it finished.
            for _ in range(10):
                cause = self.deployment(rng.randrange(deployments))
                if cause["environment"] == "production":
                    caused_by = cause["external_id"]
                    service = cause["service"]
                    base = parse_iso(cause["finished_at"])
                    started = base + timedelta(seconds=rng.randrange(300, 20 * 3600))
                    break
        if caused_by is None:
            # Not named: the attribution rule (or nothing) decides what it counts against.
            service = self.services[rng.randrange(len(self.services))]
            started = self.now - timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
        started = min(started, self.now - timedelta(minutes=1))
        resolved = None
        if rng.random() < 0.9:
            resolved = iso(started + timedelta(seconds=rng.randrange(300, 2 * 86400)))
        return {
            "kind": "incident",
            "external_id": f"{self.prefix}inc-{k:06d}",
            "service": service,
            "severity": rng.choices(*SEVERITIES)[0],
            "started_at": iso(started),
            "resolved_at": resolved,
            "caused_by": caused_by,
        }

    def lines(self, deployments: int, incidents: int):
        for i in range(deployments):
            yield json.dumps(self.deployment(i))
        for k in range(incidents):
            yield json.dumps(self.incident(k, deployments))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


# --- databases -----------------------------------------------------------------------------


def use_database(name: str) -> None:
    """Point Django's default connection at another database of the same server."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def seed_catalog(teams: int, services: int) -> list[str]:
    """Teams, services (with a domain when the model has one), staging and production."""
    from releases.models import Service, Team
    from scheduling.models import Environment

    made_teams = Team.objects.bulk_create(
        [
            Team(
                slug=f"{TEAM_WORDS[t % len(TEAM_WORDS)]}{t // len(TEAM_WORDS) or ''}", name=f"T{t}"
            )
            for t in range(teams)
        ]
    )
    has_domain = any(f.name == "domain" for f in Service._meta.get_fields())
    made = []
    for s in range(services):
        team = made_teams[s % teams]
        extra = {"domain": DOMAINS[s % len(DOMAINS)]} if has_domain else {}
        word = SERVICE_WORDS[(s // teams) % len(SERVICE_WORDS)]
        made.append(
            Service(
                slug=f"{team.slug}-{word}-{s}", name=f"{team.slug} {word} {s}", team=team, **extra
            )
        )
    Service.objects.bulk_create(made)
    Environment.objects.bulk_create(
        [
            Environment(slug="staging", name="Staging", order=10),
            Environment(slug="production", name="Production", order=100, is_production=True),
        ]
    )
    return [s.slug for s in made]


def import_history(history: History, deployments: int, incidents: int, chunk: int) -> dict:
    """Feed the generated lines to metrics.history.import_lines, --chunk lines per call."""
    from metrics.history import import_lines

    user = None  # the operator at the command line, as manage.py import_history
    figures = {}
    for kind, count, lines in (
        (
            "deployments",
            deployments,
            (json.dumps(history.deployment(i)) for i in range(deployments)),
        ),
        (
            "incidents",
            incidents,
            (json.dumps(history.incident(k, deployments)) for k in range(incidents)),
        ),
    ):
        t0, done, batch, spent = time.perf_counter(), 0, [], 0.0
        for line in lines:
            batch.append(line)
            if len(batch) >= chunk:
                spent += run_import(import_lines, batch, user)
                done += len(batch)
                batch = []
                print(
                    f"    {kind}: {done:,} of {count:,} ({done / spent:,.0f} lines/s)", flush=True
                )
        if batch:
            spent += run_import(import_lines, batch, user)
        total = time.perf_counter() - t0
        figures[kind] = (count, spent)
        print(
            f"  {kind:12} {count:10,d} lines {spent:8.1f} s in import_lines "
            f"{count / spent:10,.0f} lines/s ({total - spent:.1f} s generating the lines)"
        )
    return figures


def run_import(import_lines, batch: list[str], user) -> float:
    """One import_lines call; its seconds (the lines are generated outside the timing)."""
    t0 = time.perf_counter()
    result = import_lines(batch, user)
    seconds = time.perf_counter() - t0
    if result.errors:
        raise SystemExit(f"the import refused the generated lines: {result.errors[:5]}")
    return seconds


def link_releases(per_release: int) -> tuple[int, float]:
    """Imported history names no release, and the success rate judges releases: group the
    production records into releases of ``per_release`` records each (bulk insert and one
    UPDATE), as releases shipping several services would have. Skipped when releases exist."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from metrics.models import DeploymentRecord
    from releases.models import Release

    if Release.objects.exists():
        return 0, 0.0
    t0 = time.perf_counter()
    production = DeploymentRecord.objects.filter(is_production=True).count()
    manager, _ = User.objects.get_or_create(username="bench-release-manager")
    now = timezone.now()
    releases = [
        Release(
            key=f"BENCH-{n + 1:07d}",
            name=f"Bench release {n + 1}",
            version=f"{1 + n // 10000}.{(n // 100) % 100}.{n % 100}",
            state="closed",
            author=manager,
            owner=manager,
            planned_start=now,
            planned_end=now,
        )
        for n in range(-(-production // per_release))
    ]
    Release.objects.bulk_create(releases, batch_size=5000)
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH rec AS (
                SELECT id, (row_number() OVER (ORDER BY id) - 1) / %s AS n
                FROM metrics_deploymentrecord WHERE is_production
            ), rel AS (
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                FROM releases_release WHERE key LIKE 'BENCH-%%'
            )
            UPDATE metrics_deploymentrecord r SET release_id = rel.id
            FROM rec JOIN rel ON rel.n = rec.n WHERE r.id = rec.id
            """,
            [per_release],
        )
    return len(releases), time.perf_counter() - t0


def analyze() -> float:
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


def table_counts() -> dict:
    from metrics.models import CommitRecord, DeploymentRecord, Incident
    from releases.models import Release

    return {
        "deployment records": DeploymentRecord.objects.count(),
        "commit records": CommitRecord.objects.count(),
        "incidents": Incident.objects.count(),
        "incidents with a record": Incident.objects.filter(deployment_record__isnull=False).count(),
        "releases": Release.objects.count(),
    }


# --- the figures ---------------------------------------------------------------------------


def figure_functions() -> dict:
    """The figures to time: metrics.dora.dora(filters), and MTTR and success rate wherever
    helper "dora" put them (metrics.dora, or a module of their own)."""
    import importlib

    found = {}
    wanted = {
        "dora": ["dora"],
        "mttr": ["mttr", "mttr_figures", "mean_time_to_restore"],
        "success rate": ["success_rate", "release_success_rate", "success_rate_figures"],
    }
    modules = []
    for name in ("metrics.dora", "metrics.mttr", "metrics.success_rate", "metrics.success"):
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
    for figure, names in wanted.items():
        for module in modules:
            fn = next(
                (getattr(module, n) for n in names if callable(getattr(module, n, None))), None
            )
            if fn is not None:
                found[figure] = fn
                break
    return found


def make_filters(team: str | None, since: date, until: date):
    from django.http import QueryDict

    from metrics.periods import parse_filters

    query = QueryDict(mutable=True)
    query["since"] = since.isoformat()
    query["until"] = until.isoformat()
    if team:
        query["team"] = team
    return parse_filters(query)


class TimedRecorder:
    """Every SQL statement a call runs, with its parameters and wall time."""

    def __init__(self):
        self.statements: list[tuple[float, str, object]] = []

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((time.perf_counter() - t0, sql, params))


def explain(sql: str, params) -> tuple[float, str]:
    """PostgreSQL's execution time (ms) and plan of a SELECT (EXPLAIN ANALYZE, BUFFERS)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    ms = float(plan.rsplit("Execution Time:", 1)[1].split()[0])
    return ms, plan


def time_figure(fn, filters, repeat: int, plans: bool) -> dict:
    """First call (cold caches), median of ``repeat`` more, statements per call, and the
    slowest statement's PostgreSQL execution time (EXPLAIN ANALYZE) and plan."""
    from django.db import connection

    recorder = TimedRecorder()
    t0 = time.perf_counter()
    with connection.execute_wrapper(recorder):
        fn(filters)
    first = time.perf_counter() - t0
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(filters)
        walls.append(time.perf_counter() - t0)
    slowest = max(recorder.statements, key=lambda s: s[0])
    ms, plan = explain(slowest[1], slowest[2]) if plans else (slowest[0] * 1000, "")
    return {
        "first": first,
        "median": statistics.median(walls) if walls else first,
        "queries": len(recorder.statements),
        "slowest": (ms, slowest[1], plan),
    }


def measure(
    label: str, functions: dict, team: str, since: date, until: date, repeat: int, plans: bool
):
    results = {}
    for scope, team_slug in (("all teams", None), (f"team {team}", team)):
        filters = make_filters(team_slug, since, until)
        for figure, fn in functions.items():
            r = time_figure(fn, filters, repeat, plans)
            results[(figure, scope)] = r
            print(
                f"  {label:9} {figure:13} {scope:22} first {r['first']:7.3f} s  "
                f"median {r['median']:7.3f} s  {r['queries']:3d} queries",
                flush=True,
            )
    return results


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deployments", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument(
        "--baseline-deployments",
        type=int,
        default=10_000,
        help="deployments in the baseline database (incidents in the same proportion)",
    )
    parser.add_argument("--teams", type=int, default=8)
    parser.add_argument("--services", type=int, default=40)
    parser.add_argument(
        "--records-per-release",
        type=int,
        default=5,
        help="production records grouped into one release (for the success rate)",
    )
    parser.add_argument("--chunk", type=int, default=50_000, help="lines per import_lines call")
    parser.add_argument("--repeat", type=int, default=1, help="timed calls after the first")
    parser.add_argument(
        "--plans", action="store_true", help="print the slowest statement's plan per figure"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server (no database name); env BENCH_PG_URL",
    )
    parser.add_argument(
        "--db-name", default="rm_bench_metrics", help="large database; the baseline is <name>_base"
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the databases")
    parser.add_argument(
        "--skip-import", action="store_true", help="reuse the databases of a --keep-db run"
    )
    parser.add_argument(
        "--schema",
        choices=["auto", "migrations", "models"],
        default="auto",
        help="tables from the migrations, from the models, or auto (models when they have "
        "changes without a migration)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    base_db, big_db = f"{args.db_name}_base", args.db_name
    base_incidents = max(1, args.incidents * args.baseline_deployments // max(1, args.deployments))
    var_parent = os.environ.get("RELEASEMGR_VAR_DIR")
    if var_parent:
        Path(var_parent).mkdir(parents=True, exist_ok=True)
    var = Path(tempfile.mkdtemp(prefix="bench-metrics-", dir=var_parent or None))
    (var / "staticfiles").mkdir()
    if not args.skip_import:
        for name in (big_db, base_db):
            admin_sql(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin_sql(args.pg_url, f'CREATE DATABASE "{base_db}"')
    status = 0
    try:
        setup_django(f"{args.pg_url.rstrip('/')}/{base_db}", var)
        from django.db import connection
        from django.utils import timezone

        now = timezone.now().replace(microsecond=0)
        imports = {}
        if args.skip_import:
            print(f"reusing {base_db} and {big_db} (--skip-import)")
        else:
            t0 = time.perf_counter()
            schema = build_schema(args.schema)
            services = seed_catalog(args.teams, args.services)
            print(
                f"schema from the {schema} and catalog ({args.teams} teams, {args.services} "
                f"services) in {time.perf_counter() - t0:.1f} s"
            )
            connection.close()
            admin_sql(args.pg_url, f'CREATE DATABASE "{big_db}" TEMPLATE "{base_db}"')
            for label, name, deployments, incidents in (
                ("baseline", base_db, args.baseline_deployments, base_incidents),
                ("large", big_db, args.deployments, args.incidents),
            ):
                use_database(name)
                print(f"import into {name} ({label}):", flush=True)
                history = History(services, now, args.seed, prefix="bench-")
                imports[label] = import_history(history, deployments, incidents, args.chunk)
                linked, seconds = link_releases(args.records_per_release)
                print(f"  {linked:,} releases over the production records in {seconds:.1f} s")
                print(f"  VACUUM ANALYZE {analyze():.1f} s")

        if args.skip_import:
            for name in (base_db, big_db):
                use_database(name)
                linked, seconds = link_releases(args.records_per_release)
                if linked:
                    print(f"  {name}: {linked:,} releases linked in {seconds:.1f} s")
                    analyze()
        functions = figure_functions()
        missing = {"dora", "mttr", "success rate"} - set(functions)
        if missing:
            print(f"not found (yet) in metrics: {', '.join(sorted(missing))}")
        from releases.models import Team

        until = now.date() + timedelta(days=1)
        since = until - timedelta(days=365)
        print(f"\nfigures for {since} .. {until} (until exclusive):")
        measured, counts = {}, {}
        for label, name in (("baseline", base_db), ("large", big_db)):
            use_database(name)
            counts[label] = table_counts()
            team = Team.objects.order_by("pk").values_list("slug", flat=True).first()
            measured[label] = measure(
                label, functions, team, since, until, args.repeat, label == "large"
            )
        connection.close()
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            for name in (big_db, base_db):
                admin_sql(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print("\nrows:")
    for key in counts["large"]:
        print(
            f"  {key:26} baseline {counts['baseline'][key]:10,d}   large {counts['large'][key]:10,d}"
        )
    if imports:
        print("\nimport (metrics.history.import_lines):")
        for label, figures in imports.items():
            for kind, (count, seconds) in figures.items():
                print(
                    f"  {label:9} {kind:12} {count:10,d} lines {seconds:8.1f} s "
                    f"{count / seconds:10,.0f} lines/s"
                )
    header = (
        f"{'figure':13} {'scope':22} {'base s':>8} {'large s':>8} {'x time':>7} "
        f"{'base q':>6} {'large q':>7}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for key, large in measured["large"].items():
        base = measured["baseline"][key]
        ratio = large["median"] / base["median"] if base["median"] else float("nan")
        print(
            f"{key[0]:13} {key[1]:22} {base['median']:8.3f} {large['median']:8.3f} {ratio:7.1f} "
            f"{base['queries']:6d} {large['queries']:7d}"
        )
        if large["queries"] > base["queries"]:
            status = 1
    print("(seconds: median of the timed calls; q: SQL statements per call)")
    print("\nslowest statement per figure at the large size (PostgreSQL EXPLAIN ANALYZE):")
    for key, large in measured["large"].items():
        ms, sql, plan = large["slowest"]
        print(f"  {key[0]:13} {key[1]:22} {ms:10.1f} ms  {' '.join(sql.split())[:120]}")
    if args.plans:
        for key, large in measured["large"].items():
            ms, sql, plan = large["slowest"]
            print(f"\n--- {key[0]}, {key[1]}: {' '.join(sql.split())}\n{plan}")
    print(
        "\ndatabases "
        + (f"kept: {base_db}, {big_db}" if args.keep_db else "dropped")
        + (
            "\nQUERY COUNT GREW WITH THE DATA"
            if status
            else "\nQuery counts do not grow with the data."
        )
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
