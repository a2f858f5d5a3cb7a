"""Load realistic demo data: idempotent, safe to run on every ``make run``."""

import importlib
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from governance.demo_policy import approve_as_required
from releasemgr.roles import ALL_ROLES, sync_roles
from releases import gate, lifecycle
from releases.choices import ChangeType, ReleaseKind, ScopeDecision, ScopeKind
from releases.models import Release, ReleaseService, ScopeItem, Service, ServiceDependency, Team
from scheduling.models import Environment, FreezeWindow

DEMO_PASSWORD = "demo-password"

# Modules with a ``groundwork(users)`` function, run in this order BEFORE the releases: the
# risk configuration, the services' sensitive areas and the approval rules must exist when the
# first demo release is submitted, or its submission freezes the one-CAB-member fallback.
GROUNDWORK = [
    "governance.demo_changes",
    "governance.demo_policy",
    "releases.demo_resilience",
]

# Modules with a ``demo(users, envs)`` function, run in this order after the releases.
DEMO_AREAS = [
    "scheduling.demo_calendar",
    "scheduling.demo_planning",
    "scheduling.demo_reservations",
    "scheduling.freeze_exceptions",
    "scheduling.patching",
    "governance.demo_policy",
    "governance.demo_register",
    "governance.demo_cab",
    "governance.demo_changes",
    "governance.demo_defects",
    "releases.demo_trains",
    "releases.demo_interfaces",
    "releases.demo_packaging",
    "releases.demo_resilience",
    "releases.demo_scope_changes",
    "releases.demo_rollout",
    "metrics.demo_tickets",
    "metrics.demo_kpis",
    "metrics.demo_drift",
    "metrics.demo_runbooks",
    "releases.demo_pipeline",
    "metrics.demo_incidents",
    "metrics.demo_quality",
    "metrics.demo_postmortems",
    "metrics.demo_history",
    "metrics.demo_domains",
    # After every area that writes delivery history: rolls it all up for the metrics page.
    "metrics.demo_rollups",
    # Keep last: its staging quality gates would stop later areas' demo promotions.
    "releases.demo_validation",
]

TEAMS = {
    "payments": ("Payments", "Card processing, ledgers and payouts."),
    "storefront": ("Storefront", "Web and mobile shopping experience."),
    "platform": ("Platform", "Shared infrastructure and libraries."),
    "identity": ("Identity", "Login, accounts and access control."),
}

# slug: (name, team, tier, customer_facing, ha_required, recovery_sla_minutes, risk)
SERVICES = {
    "web-storefront": ("Web Storefront", "storefront", 1, True, True, 30, "high"),
    "mobile-bff": ("Mobile BFF", "storefront", 2, True, True, 60, "medium"),
    "catalog-service": ("Catalog Service", "storefront", 2, False, True, 120, "medium"),
    "checkout-service": ("Checkout Service", "payments", 1, True, True, 15, "high"),
    "payments-api": ("Payments API", "payments", 1, True, True, 15, "high"),
    "ledger": ("Ledger", "payments", 1, False, True, 60, "high"),
    "payouts-batch": ("Payouts Batch", "payments", 3, False, False, 480, "medium"),
    "auth-service": ("Auth Service", "identity", 1, True, True, 15, "high"),
    "user-profile": ("User Profile", "identity", 2, True, False, 120, "low"),
    "notification-service": ("Notification Service", "platform", 3, False, False, 240, "low"),
    "common-lib": ("Common Library", "platform", 2, False, False, 240, "medium"),
    "observability-agent": ("Observability Agent", "platform", 3, False, False, 480, "low"),
}

# (service, depends_on, kind, constraint)
DEPENDENCIES = [
    ("web-storefront", "catalog-service", "runtime", ""),
    ("web-storefront", "checkout-service", "runtime", ""),
    ("web-storefront", "auth-service", "runtime", ""),
    ("mobile-bff", "catalog-service", "runtime", ""),
    ("mobile-bff", "checkout-service", "runtime", ""),
    ("mobile-bff", "user-profile", "runtime", ""),
    ("checkout-service", "payments-api", "runtime", ""),
    ("checkout-service", "auth-service", "runtime", ""),
    ("payments-api", "ledger", "runtime", ""),
    ("payouts-batch", "ledger", "runtime", ""),
    ("ledger", "notification-service", "runtime", ""),
    ("user-profile", "auth-service", "runtime", ""),
    ("payments-api", "common-lib", "library", ">=2.1,<3"),
    ("checkout-service", "common-lib", "library", ">=2.0,<3"),
    ("auth-service", "common-lib", "library", ">=2.1,<3"),
    ("catalog-service", "observability-agent", "library", "~=1.4"),
]

ENVIRONMENTS = [
    ("dev", "Development", 1, False),
    ("test", "Test", 2, False),
    ("staging", "Staging", 3, False),
    ("production", "Production", 4, True),
]

PEOPLE = {
    "release_manager": ("Rita", "Manager"),
    "cab_member": ("Carl", "Board"),
    "developer": ("Dev", "Eloper"),
    "deployer": ("Dana", "Ployer"),
    "compliance_officer": ("Cora", "Compliance"),
    "product_owner": ("Pat", "Owner"),
    "auditor": ("Audra", "Auditor"),
}


class Command(BaseCommand):
    help = "Load demo users (one per role), catalog, environments, a freeze and releases in every state."

    def handle(self, *args, **options):
        sync_roles()
        with transaction.atomic():
            users = self._users()
            self._catalog(users)
            envs = self._environments()
        for area in GROUNDWORK:
            with transaction.atomic():
                importlib.import_module(area).groundwork(users)
        if not Release.objects.exists():
            self._releases(users, envs)
            self.stdout.write(self.style.SUCCESS("Demo releases created."))
        else:
            self.stdout.write("Releases already exist; demo releases left as they are.")
        for area in DEMO_AREAS:
            # Each scheduling area seeds its own demo rows idempotently.
            module = importlib.import_module(area)
            with transaction.atomic():
                module.demo(users, envs)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def _users(self):
        User = get_user_model()
        users = {}
        for role in ALL_ROLES:
            if role == "pipeline":
                continue
            first, last = PEOPLE[role]
            user, created = User.objects.get_or_create(
                username=role,
                defaults={"first_name": first, "last_name": last, "email": f"{role}@example.com"},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(Group.objects.get(name=role))
            users[role] = user
        # A second CAB member so two-person scenarios can be tried.
        second, created = User.objects.get_or_create(
            username="cab_member2", defaults={"first_name": "Cleo", "last_name": "Board"}
        )
        if created:
            second.set_password(DEMO_PASSWORD)
            second.save()
        second.groups.add(Group.objects.get(name="cab_member"))
        users["cab_member2"] = second
        pipeline, created = User.objects.get_or_create(
            username="pipeline", defaults={"first_name": "CI", "last_name": "Pipeline"}
        )
        if created:
            pipeline.set_unusable_password()
            pipeline.save()
        pipeline.groups.add(Group.objects.get(name="pipeline"))
        users["pipeline"] = pipeline
        admin, created = User.objects.get_or_create(
            username="admin",
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.com"},
        )
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
        users["admin"] = admin
        return users

    def _catalog(self, users):
        teams = {}
        for slug, (name, description) in TEAMS.items():
            teams[slug], _ = Team.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description}
            )
        teams["payments"].members.add(users["developer"])
        services = {}
        for slug, (name, team, tier, cf, ha, sla, risk) in SERVICES.items():
            services[slug], _ = Service.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "team": teams[team],
                    "tier": tier,
                    "customer_facing": cf,
                    "ha_required": ha,
                    "recovery_sla_minutes": sla,
                    "risk_profile": risk,
                },
            )
        services["payments-api"].owners.add(users["release_manager"])
        for src, dst, kind, constraint in DEPENDENCIES:
            ServiceDependency.objects.get_or_create(
                service=services[src],
                depends_on=services[dst],
                defaults={"kind": kind, "version_constraint": constraint},
            )

    def _environments(self):
        envs = {}
        for slug, name, order, prod in ENVIRONMENTS:
            envs[slug], _ = Environment.objects.get_or_create(
                slug=slug, defaults={"name": name, "order": order, "is_production": prod}
            )
        return envs

    def _release(
        self,
        users,
        name,
        version,
        services,
        *,
        kind=ReleaseKind.FEATURE,
        change_type=ChangeType.NORMAL,
        days=7,
        scope=(),
    ):
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=days)
        release = Release(
            name=name,
            version=version,
            kind=kind,
            change_type=change_type,
            author=users["developer"],
            owner=users["release_manager"],
            planned_start=start,
            planned_end=start + timedelta(hours=2),
            description=f"{name}: demo release.",
            rollback_plan="Redeploy the previous version with the pipeline's rollback job.",
        )
        release.save_with_reason("created", user=users["developer"])
        for slug, svc_version in services:
            ReleaseService.objects.create(
                release=release, service=Service.objects.get(slug=slug), version=svc_version
            )
        importlib.import_module("releases.demo_resilience").plan(release, users["developer"])
        for title, scope_kind, decision, rationale in scope:
            ScopeItem.objects.create(
                release=release,
                title=title,
                kind=scope_kind,
                decision=decision,
                rationale=rationale,
                contributor=users["developer"],
            )
        return release

    def _deploy(self, release, envs, users, env_slugs, final="succeeded"):
        deployments = []
        for index, slug in enumerate(env_slugs):
            deployment, _ = lifecycle.start_deployment(
                release,
                envs[slug],
                users["pipeline"],
                strategy="rolling",
                pipeline_url=f"https://ci.example.com/pipelines/{release.pk}{index}",
                commit="3f2a9c1d" + str(index),
            )
            lifecycle.record_event(
                deployment,
                users["pipeline"],
                type="smoke",
                target="smoke-suite",
                status="ok",
                message="12 smoke tests passed",
            )
            outcome = final if index == len(env_slugs) - 1 else "succeeded"
            lifecycle.record_event(
                deployment, users["pipeline"], type=outcome, message=f"Pipeline reported {outcome}."
            )
            deployments.append(deployment)
            release.refresh_from_db()
        self._spread_in_time(release, deployments)

    @staticmethod
    def _spread_in_time(release, deployments):
        """Demo deployments happened before their release's planned start, a day apart,
        not all at the moment the demo was loaded."""
        from metrics.models import DeploymentRecord
        from releases.models import Deployment, DeploymentEvent

        end = min(release.planned_start or timezone.now(), timezone.now())
        for back, deployment in enumerate(reversed(deployments)):
            started = end - timedelta(days=back, minutes=40)
            finished = started + timedelta(minutes=25)
            Deployment.objects.filter(pk=deployment.pk).update(
                started_at=started, finished_at=finished
            )
            # The delivery history recorded the deployment when it finished (now): it moves
            # with it, or the metrics and quality pages would date it at the demo's loading.
            DeploymentRecord.objects.filter(deployment=deployment).update(
                started_at=started, finished_at=finished
            )
            for offset, event in enumerate(deployment.events.order_by("pk")):
                DeploymentEvent.objects.filter(pk=event.pk).update(
                    created=started + timedelta(minutes=10 + 10 * offset)
                )

    @staticmethod
    def _standard_change_model(users):
        from governance.models import ChangeModel

        model, created = ChangeModel.objects.get_or_create(
            slug="notification-template-update",
            defaults={
                "name": "Notification template update",
                "description": "Wording and layout changes to e-mail and SMS templates.",
                "steps": "Render every changed template in staging\nDeploy with the pipeline\n"
                "Send a test message per channel",
                "risk_ceiling": "medium",
                "owner": users["release_manager"],
                "approved_by": users["cab_member"],
            },
        )
        if created:
            model.services.add(Service.objects.get(slug="notification-service"))
        return model

    def _releases(self, users, envs):
        dev, cab, cab2, pipe = (
            users["developer"],
            users["cab_member"],
            users["cab_member2"],
            users["pipeline"],
        )
        # Who the frozen policy may ask, in the order they are asked after the first approver.
        board = [cab, cab2, users["product_owner"], users["compliance_officer"]]
        scope = [
            (
                "Saved cards at checkout",
                ScopeKind.FEATURE,
                ScopeDecision.INCLUDED,
                "Planned for Q4.",
            ),
            (
                "Drop legacy 3DS v1 flow",
                ScopeKind.TECH_DEBT,
                ScopeDecision.DEFERRED,
                "Too risky next to peak season; moved to the January maintenance release.",
            ),
            (
                "Add ledger index on settlement_date",
                ScopeKind.SCHEMA_MIGRATION,
                ScopeDecision.INCLUDED,
                "Needed by the new payout report.",
            ),
        ]
        # draft
        self._release(
            users,
            "Profile photo upload",
            "2.3.0",
            [("user-profile", "2.3.0")],
            days=21,
            scope=[("Photo upload", ScopeKind.FEATURE, ScopeDecision.INCLUDED, "")],
        )
        # submitted (awaiting CAB)
        r = self._release(
            users,
            "Checkout saved cards",
            "4.2.0",
            [("checkout-service", "4.2.0"), ("payments-api", "1.9.0")],
            days=10,
            scope=scope,
        )
        lifecycle.submit(r, dev, "Ready for CAB")
        gate.ask(Service.objects.get(slug="payments-api"), "1.9.0", envs["dev"], pipe)
        # approved, not yet deployed
        r = self._release(
            users, "Catalog search ranking", "3.1.0", [("catalog-service", "3.1.0")], days=3
        )
        lifecycle.submit(r, dev)
        approve_as_required(r, board, "Low risk, good test evidence.")
        gate.ask(Service.objects.get(slug="catalog-service"), "3.1.0", envs["production"], pipe)
        # deploying: through dev and test, staging next
        r = self._release(
            users,
            "Auth token rotation",
            "5.0.1",
            [("auth-service", "5.0.1")],
            kind=ReleaseKind.SECURITY_PATCH,
            days=1,
        )
        lifecycle.submit(r, dev)
        approve_as_required(r, [cab2, *board], "Security patch, expedite.")
        self._deploy(r, envs, users, ["dev", "test"])
        # deployed to production
        r = self._release(
            users,
            "Ledger settlement report",
            "2.8.0",
            [("ledger", "2.8.0"), ("payouts-batch", "1.12.0")],
            days=-2,
        )
        lifecycle.submit(r, dev)
        approve_as_required(r, board)
        self._deploy(r, envs, users, ["dev", "test", "staging", "production"])
        # closed
        r = self._release(
            users,
            "Notification templates",
            "1.4.0",
            [("notification-service", "1.4.0")],
            kind=ReleaseKind.MAINTENANCE,
            change_type=ChangeType.STANDARD,
            days=-10,
        )
        # A standard change follows a pre-approved change model: submitting approves it.
        r.change_model = self._standard_change_model(users)
        r.save_with_reason("follows a standard change model", user=dev)
        lifecycle.submit(r, dev)
        self._deploy(r, envs, users, ["dev", "test", "staging", "production"])
        lifecycle.transition(r, "close", users["release_manager"], "Stable for 72 hours.")
        # rejected
        r = self._release(users, "Mobile BFF GraphQL", "0.9.0", [("mobile-bff", "0.9.0")], days=14)
        lifecycle.submit(r, dev)
        lifecycle.reject(r, cab, "No rollback plan for the schema change; resubmit with one.")
        # cancelled
        r = self._release(
            users, "Storefront dark mode", "7.0.0", [("web-storefront", "7.0.0")], days=30
        )
        lifecycle.transition(r, "cancel", users["release_manager"], "Superseded by the redesign.")
        # rolled back in production
        r = self._release(
            users,
            "Payments currency rounding",
            "1.8.3",
            [("payments-api", "1.8.3")],
            kind=ReleaseKind.HOTFIX,
            change_type=ChangeType.EMERGENCY,
            days=-5,
        )
        lifecycle.submit(r, dev)
        approve_as_required(r, [cab2, *board], "Emergency fix for rounding errors.")
        self._deploy(r, envs, users, ["dev", "test", "staging", "production"], final="rolled_back")
        # A freeze around a peak trading weekend, starting soon, covering production.
        now = timezone.now().replace(minute=0, second=0, microsecond=0)
        freeze = FreezeWindow.objects.create(
            name="Black Friday trading freeze",
            reason="Peak transaction period: no production changes.",
            start=now + timedelta(hours=2),
            end=now + timedelta(days=4),
            created_by=users["release_manager"],
        )
        freeze.environments.add(envs["production"])
        # A gate question answered during the freeze would wait; ask about a frozen moment too.
        gate.ask(Service.objects.get(slug="auth-service"), "5.0.1", envs["staging"], pipe)
