"""Demo rollouts (run by ``seed_demo``; idempotent): a User Profile release whose test deployment
partially failed (two of three nodes took 2.2.5, one failed its readiness probe; the release
manager decides what to do), and a Notification digest release halted in staging by a failed
smoke test (the gate keeps it out of production until the test passes or is overridden)."""

from datetime import timedelta

from django.utils import timezone

from governance.demo_policy import approve_as_required
from releasemgr.decisions import DomainError
from releases import lifecycle
from releases.models import Release, ReleaseService, Service

PARTIAL = "User profile avatars"
HALTED = "Notification digest"


def _release(users, name, slug, version, previous):
    service = Service.objects.filter(slug=slug).first()
    if service is None:
        return None
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    release = Release(
        name=name,
        version=version,
        author=users["developer"],
        owner=users["release_manager"],
        planned_start=start,
        planned_end=start + timedelta(hours=2),
        description=f"{name}: demo of a rollout over several nodes.",
        rollback_plan=f"Redeploy {slug} {previous} on every node with the pipeline's rollback job.",
    )
    release.save_with_reason("created", user=users["developer"])
    ReleaseService.objects.create(release=release, service=service, version=version)
    from releases import demo_resilience

    demo_resilience.plan(release, users["developer"])
    lifecycle.submit(release, users["developer"], "Ready for CAB")
    board = [users.get(r) for r in ("cab_member2", "cab_member", "compliance_officer")]
    approve_as_required(release, [u for u in board if u is not None], "Rollout demo.")
    return release


def _rollout(release, env, pipe, nodes, previous, results, final="succeeded"):
    deployment, _ = lifecycle.start_deployment(
        release,
        env,
        pipe,
        strategy="rolling",
        pipeline_url=f"https://ci.example.com/pipelines/{release.pk}{env.order}",
    )
    lifecycle.record_event(deployment, pipe, type="plan", target=", ".join(nodes), version=previous)
    for name, status, message in results:
        lifecycle.record_event(
            deployment, pipe, type="node", target=name, status=status, message=message
        )
    if final:
        lifecycle.record_event(deployment, pipe, type=final, message=f"Pipeline reported {final}.")
    return deployment


def demo(users: dict, envs: dict) -> None:
    pipe = users.get("pipeline")
    if pipe is None or users.get("developer") is None or users.get("release_manager") is None:
        return
    try:
        if not Release.objects.filter(name=PARTIAL).exists():
            _partial(users, envs, pipe)
        if not Release.objects.filter(name=HALTED).exists():
            _halted(users, envs, pipe)
    except DomainError:
        # A demo calendar window or gate rule in the way: the rest of the demo still loads.
        return


def _partial(users, envs, pipe) -> None:
    release = _release(users, PARTIAL, "user-profile", "2.2.5", "2.2.4")
    if release is None:
        return
    nodes = ["profile-1", "profile-2", "profile-3"]
    _rollout(
        release,
        envs["dev"],
        pipe,
        ["profile-dev-1"],
        "2.2.4",
        [("profile-dev-1", "ok", "healthy after 14 s")],
    )
    _rollout(
        release,
        envs["test"],
        pipe,
        nodes,
        "2.2.4",
        [
            ("profile-1", "info", "draining"),
            ("profile-1", "ok", "healthy after 21 s"),
            ("profile-2", "ok", "healthy after 19 s"),
            ("profile-3", "failed", "readiness probe timed out after 120 s (avatar cache warm-up)"),
        ],
        final="",
    )


def _halted(users, envs, pipe) -> None:
    release = _release(users, HALTED, "notification-service", "1.5.0", "1.4.0")
    if release is None:
        return
    nodes = ["notify-1", "notify-2"]
    ok = [(n, "ok", "healthy") for n in nodes]
    _rollout(release, envs["dev"], pipe, nodes, "1.4.0", ok)
    _rollout(release, envs["test"], pipe, nodes, "1.4.0", ok)
    staging = _rollout(release, envs["staging"], pipe, nodes, "1.4.0", ok, final="")
    lifecycle.record_event(
        staging,
        pipe,
        type="smoke",
        target="digest-email-smoke",
        status="failed",
        message="Daily digest e-mail not delivered within 60 s (SMTP relay refused the sender).",
    )
