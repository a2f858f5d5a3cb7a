"""Demo: roll up the whole delivery history the earlier demo areas wrote (imported history,
native deployments, incidents), so the metrics page is populated the first time it is opened.
Idempotent: a rebuild writes the same rows again. Keep it after every area that writes
history (seed_demo.DEMO_AREAS)."""

from metrics import rollups


def demo(users: dict, envs: dict) -> None:
    rollups.rebuild_all()
