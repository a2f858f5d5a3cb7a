"""Demo quality scores: every demo release that reached production gets its score (from the demo
tickets, incidents and KPI alerts seeded before it), so /metrics/quality/ and the release
page's Stabilisation tab show numbers on a fresh ``make run``. Idempotent (one row per release)."""

from metrics import quality_score

# Wide enough to take imported history from years back too.
DAYS = 3660


def demo(users, envs):
    quality_score.recompute(days=DAYS, user=users.get("release_manager"))
