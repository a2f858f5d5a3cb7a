"""Demo quality scores and approval threshold suggestions: every demo release that reached
production gets its score (from the demo tickets, incidents and KPI alerts seeded before it),
and the teams' and domains' figures are assessed, so /metrics/quality/ and
/metrics/policy-suggestions/ show something on a fresh ``make run``. Idempotent."""

from metrics import adaptive_policy, quality_score

# Wide enough to take imported history from years back too.
DAYS = 3660


def demo(users, envs):
    quality_score.recompute(days=DAYS, user=users.get("release_manager"))
    adaptive_policy.refresh()
