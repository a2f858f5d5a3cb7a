"""The rollout demo: a partially failed deployment and a deployment halted by a smoke test."""

from django.core.management import call_command

from releases.models import Deployment, Release


def test_the_demo_shows_a_partial_failure_and_a_smoke_halt_and_runs_twice(db):
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)

    partial = Deployment.objects.get(
        release__name="User profile avatars", status="partially_failed"
    )
    assert sorted(partial.targets.values_list("name", "status", "version")) == [
        ("profile-1", "succeeded", "2.2.5"),
        ("profile-2", "succeeded", "2.2.5"),
        ("profile-3", "failed", "2.2.4"),
    ]
    halted = Deployment.objects.get(release__name="Notification digest", status="halted")
    assert halted.environment.slug == "staging"
    assert halted.events.filter(type="smoke", target="digest-email-smoke").exists()
    assert Release.objects.filter(name="Notification digest").count() == 1
