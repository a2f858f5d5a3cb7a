#!/usr/bin/env python
"""Benchmark: the hash-chained decision log — append cost and full-chain verification.

    .venv/bin/python tests/bench/bench_decision_log.py [--entries 20000] [--baseline 1000]

Runs in-process against a fresh SQLite file in a temporary folder (or BENCH_DATABASE_URL, an
empty database you can throw away). The baseline's entries are appended first and verified,
then the log is grown to --entries and verified again, in the same run.

Prints, at both sizes: appends/s with p50/p99 per append (each append locks the chain head,
hashes and inserts) and SQL queries per append; verification seconds and entries/s. Exits 1 if
an append's query count grows with the log, or verification is not linear (per-entry cost at
the large size more than 3× the baseline's).
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
    var = Path(tempfile.mkdtemp(prefix="releasemgr-bench-log-"))
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
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def grow(to: int, sample: int = 500) -> tuple[list[float], int]:
    """Append entries until the log holds ``to``; time the last ``sample`` appends."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from governance import decision_log
    from governance.choices import DecisionKind
    from governance.models import DecisionRecord

    have = DecisionRecord.objects.count()
    timings: list[float] = []
    queries = 0
    for i in range(have, to):
        kwargs = {
            "kind": DecisionKind.GATE,
            "outcome": "allowed" if i % 3 else "prevented",
            "summary": f"Gate answer #{i} for payments-api 1.{i}.0 to production",
            "release": f"REL-2026-{i % 9000:04d}",
            "subject": f"gate-decision:{i}",
            "reasons": [
                {"code": "approved", "passed": True, "message": "Approved by carol."},
                {"code": "freeze_window", "passed": bool(i % 3), "message": "Holiday freeze."},
            ],
            "data": {"environment": "production", "attempt": i, "ratio": i / 7},
        }
        if i >= to - sample:
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                decision_log.append(**kwargs)
                timings.append(time.perf_counter() - started)
            queries = len(ctx.captured_queries)
        else:
            decision_log.append(**kwargs)
    return timings, queries


def verify_seconds() -> tuple[float, int, bool]:
    from governance import decision_log

    started = time.perf_counter()
    result = decision_log.verify()
    return time.perf_counter() - started, result.entries, result.intact


def report(label: str, timings: list[float], queries: int, seconds: float, entries: int) -> None:
    ms = sorted(t * 1000 for t in timings)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(
        f"{label:>9}: append p50 {statistics.median(ms):6.2f} ms  p99 {p99:6.2f} ms  "
        f"{len(ms) / (sum(ms) / 1000):7.0f} appends/s  {queries} queries/append | "
        f"verify {entries} entries in {seconds:6.2f} s ({entries / seconds:8.0f} entries/s)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20000)
    parser.add_argument("--baseline", type=int, default=1000)
    args = parser.parse_args()
    setup_django()

    base_timings, base_queries = grow(args.baseline)
    base_seconds, base_entries, base_ok = verify_seconds()
    report("baseline", base_timings, base_queries, base_seconds, base_entries)
    big_timings, big_queries = grow(args.entries)
    big_seconds, big_entries, big_ok = verify_seconds()
    report("large", big_timings, big_queries, big_seconds, big_entries)

    failures = []
    if not (base_ok and big_ok):
        failures.append("the chain did not verify")
    if big_queries > base_queries:
        failures.append(f"append queries grew: {base_queries} → {big_queries}")
    per_base, per_big = base_seconds / base_entries, big_seconds / big_entries
    if per_big > 3 * per_base:
        failures.append(f"verification per entry grew {per_big / per_base:.1f}×")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
