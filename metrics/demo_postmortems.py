"""Demo post-mortems and checklists (run by ``seed_demo``; idempotent): two post-mortems (the
ledger settlement incident and a failed deployment's release) whose factors share the tags
``db-migration`` and ``load-testing`` and the category testing, an overdue action (shown on
the dashboard), one done; a "Production deployment" checklist with two versions and a run on
each of two deployments in which the same item failed, so /metrics/checklists/ shows
proposals with their evidence."""

from datetime import timedelta

from django.utils import timezone

from metrics import checklists, postmortems
from metrics.models.checklists import ChecklistTemplate
from metrics.models.incidents import Incident
from metrics.models.postmortems import PostMortem
from releases.models import Deployment, Release

V1 = [
    {"key": "approvals-complete", "text": "The release is approved by everyone the policy asks."},
    {"key": "rollback-plan-rehearsed", "text": "The rollback plan was rehearsed in staging."},
    {"key": "smoke-tests-green", "text": "Smoke tests are green in staging."},
]
V2 = [
    *V1,
    {"key": "on-call-informed", "text": "The on-call engineer of each service knows the window."},
]


def _postmortems(users, today):
    manager, deployer, developer = (
        users.get(r) for r in ("release_manager", "deployer", "developer")
    )
    incident = Incident.objects.filter(external_id="DEMO-INC-1").first() or (
        Incident.objects.filter(severity__in=postmortems.MAJOR_SEVERITIES).first()
    )
    failed = (
        Release.objects.filter(deployments__status__in=postmortems.FAILED_DEPLOYMENT_STATUSES)
        .order_by("pk")
        .first()
    )
    made = []
    if incident is not None:
        pm = postmortems.create_postmortem(
            manager,
            f"Settlement totals off after the ledger release (INC-{incident.pk})",
            "Totals per merchant were rounded per line instead of per statement; the "
            "reconciliation job caught it four hours after the deploy.",
            incident=incident,
            facilitator=manager,
        )
        start = incident.started_at
        postmortems.add_timeline_entry(
            manager, pm, start - timedelta(hours=3), "Release deployed to production."
        )
        postmortems.add_timeline_entry(
            manager, pm, start, "First settlement run with the new rounding."
        )
        postmortems.add_timeline_entry(
            manager,
            pm,
            start + timedelta(hours=1),
            "Reconciliation flags 41 merchants; payout run paused.",
        )
        postmortems.add_factor(
            manager,
            pm,
            "testing",
            "The migration's rounding change was tested on a 200-row sample, not a day of "
            "production volume.",
            ["db-migration", "load-testing"],
        )
        postmortems.add_factor(
            manager,
            pm,
            "process",
            "No reconciliation check runs between the migration and the first settlement.",
            ["db-migration"],
        )
        postmortems.add_action(
            manager,
            pm,
            "Run reconciliation on a copy of yesterday's data before each ledger migration ships.",
            developer,
            today - timedelta(days=3),
            today=today - timedelta(days=20),
        )
        done = postmortems.add_action(
            manager,
            pm,
            "Add a rounding-mode test over a full day of statements.",
            developer,
            today + timedelta(days=10),
        )
        postmortems.complete_action(developer, done)
        postmortems.set_status(manager, pm, "in_review")
        made.append(pm)
    if failed is not None:
        pm = postmortems.create_postmortem(
            deployer,
            f"{failed.key} {failed.name}: deployment failed",
            "A node failed its readiness probe under warm-up load; the rollout stopped.",
            release=failed,
            facilitator=deployer,
        )
        postmortems.add_factor(
            deployer,
            pm,
            "testing",
            "Staging has no load comparable to production, so the cache warm-up time was unknown.",
            ["load-testing"],
        )
        postmortems.add_factor(
            deployer,
            pm,
            "tooling",
            "The schema change and the code change ship in one artifact, so they cannot be "
            "rolled out separately.",
            ["db-migration"],
        )
        postmortems.add_action(
            deployer,
            pm,
            "Add a warm-up load profile to the staging smoke tests.",
            deployer,
            today + timedelta(days=14),
        )
        made.append(pm)
    return made


def _checklist(users):
    manager, deployer = users.get("release_manager"), users.get("deployer")
    template = checklists.create_template(
        manager, "Production deployment", "production-deployment", "production deployment", V1
    )
    deployments = list(Deployment.objects.order_by("pk")[:2])
    if deployments:
        run = checklists.start_run(deployer, deployments[0], template)
        for item in run.items.all():
            if item.key == "rollback-plan-rehearsed":
                checklists.tick(deployer, item, "failed", "No staging slot to rehearse in.")
            else:
                checklists.tick(deployer, item, "passed")
    checklists.add_version(manager, template, V2, "On-call engineers are told of the window")
    if len(deployments) > 1:
        run = checklists.start_run(deployer, deployments[1], template)
        for item in run.items.all():
            if item.key == "rollback-plan-rehearsed":
                checklists.tick(deployer, item, "failed", "Rehearsal environment was down.")
            elif item.key == "smoke-tests-green":
                checklists.tick(deployer, item, "passed")


def demo(users: dict, envs: dict) -> None:
    if None in (users.get("release_manager"), users.get("deployer"), users.get("developer")):
        return
    today = timezone.localdate()
    if not PostMortem.objects.exists():
        _postmortems(users, today)
    if not ChecklistTemplate.objects.filter(slug="production-deployment").exists():
        _checklist(users)
