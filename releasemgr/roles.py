"""The roles of DESIGN.md as Django groups, and the permissions each holds.

``sync_roles()`` is idempotent; it runs after every migrate, so the groups
always match this table.
"""

from django.contrib.auth.models import Group, Permission

RELEASE_MANAGER = "release_manager"
DEVELOPER = "developer"
DEPLOYER = "deployer"
CAB_MEMBER = "cab_member"
COMPLIANCE_OFFICER = "compliance_officer"
PRODUCT_OWNER = "product_owner"
AUDITOR = "auditor"
PIPELINE = "pipeline"  # service accounts used by CI/CD

ALL_ROLES = [
    RELEASE_MANAGER,
    DEVELOPER,
    DEPLOYER,
    CAB_MEMBER,
    COMPLIANCE_OFFICER,
    PRODUCT_OWNER,
    AUDITOR,
    PIPELINE,
]

# Everyone may read everything (view_* on every domain model).
_READ_ALL = "view:*"

_CRUD = ("add", "change", "delete")


def _crud(*models: str) -> list[str]:
    return [f"{action}:{model}" for model in models for action in _CRUD]


# API versions, consumers, API changes and integration plans (releases.models.interfaces).
INTERFACE_MODELS = (
    "releases.apiversion",
    "releases.apiconsumer",
    "releases.apichange",
    "releases.integrationtestplan",
    "releases.integrationflow",
)
# Signing a flow off also needs membership of the team (releases.integration.sign).
TEAM_SIGN_OFF = ("add:releases.teamsignoff", "change:releases.teamsignoff")

# Artifacts, configuration sets, migration plans, rollback packages (releases.packaging).
PACKAGING_MODELS = (
    "releases.artifact",
    "releases.configset",
    "releases.migrationplan",
    "releases.compensatingscript",
    "releases.rollbackpackage",
)


ROLE_PERMISSIONS: dict[str, list[str]] = {
    RELEASE_MANAGER: [
        _READ_ALL,
        *_crud(
            "releases.team",
            "releases.service",
            "releases.servicedependency",
            "releases.release",
            "releases.releaseservice",
            "releases.scopeitem",
            "releases.rollbackstep",
            "releases.drtest",
            *PACKAGING_MODELS,
            "releases.releasetrain",
            "releases.traincar",
            "releases.libraryusage",
            "releases.releaselibrarypin",
            *INTERFACE_MODELS,
            "scheduling.environment",
            "scheduling.freezewindow",
            "scheduling.region",
            "scheduling.goliverule",
            "scheduling.testdataset",
            "scheduling.reservation",
            "scheduling.validationneed",
            "scheduling.releasedependency",
            "scheduling.vendordeliverable",
            "scheduling.vulnerability",
            "scheduling.patchslapolicy",
        ),
        "add:scheduling.freezeexception",
        "codename:scheduling.decide_freezeexception",
        *TEAM_SIGN_OFF,
        "codename:releases.submit_release",
        "codename:releases.cancel_release",
        "codename:releases.close_release",
        "add:releases.scopechangerequest",
        *_crud("releases.techdebtestimate"),
        "codename:releases.deploy_release",
        "codename:releases.query_gate",
        "add:releases.deploymentevent",
        *_crud("releases.qualitygate"),
        "add:releases.testresult",
        *_crud(
            "governance.defect",
            "governance.registerentry",
            "governance.cabmeeting",
            "governance.agendaitem",
            "governance.changemodel",
        ),
        "change:governance.retrospective",
        "add:governance.riskassessment",
        "codename:governance.export_evidence",
    ],
    DEVELOPER: [
        _READ_ALL,
        "add:releases.release",
        "change:releases.release",
        *_crud(*PACKAGING_MODELS),
        *_crud("releases.libraryusage", "releases.releaselibrarypin"),
        "add:releases.scopechangerequest",
        *_crud("releases.techdebtestimate"),
        *_crud("releases.releaseservice", "releases.scopeitem", *INTERFACE_MODELS),
        *_crud("releases.rollbackstep"),
        *TEAM_SIGN_OFF,
        *_crud(
            "scheduling.reservation", "scheduling.validationneed", "scheduling.vendordeliverable"
        ),
        "add:scheduling.freezeexception",
        "codename:releases.submit_release",
        "codename:releases.query_gate",
        "add:governance.defect",
        "change:governance.defect",
        "add:governance.registerentry",
        "change:governance.registerentry",
    ],
    DEPLOYER: [
        _READ_ALL,
        *_crud("releases.drtest"),
        "codename:releases.deploy_release",
        "codename:releases.query_gate",
        "add:releases.deploymentevent",
        "add:releases.testresult",
    ],
    CAB_MEMBER: [
        _READ_ALL,
        "codename:governance.approve_release",
        "codename:scheduling.decide_freezeexception",
        *_crud("governance.cabmeeting", "governance.agendaitem", "governance.changemodel"),
        "add:governance.vote",
        "change:governance.retrospective",
        # Not the approval rules: those who approve under the policy do not write it.
    ],
    COMPLIANCE_OFFICER: [
        _READ_ALL,
        "codename:governance.approve_release",
        *_crud("scheduling.vulnerability", "scheduling.goliverule"),
        *_crud("governance.approvalrule", "governance.registerentry"),
        "change:governance.riskconfig",
        "codename:governance.accept_residual_risk",
        "codename:governance.export_evidence",
    ],
    PRODUCT_OWNER: [
        _READ_ALL,
        *_crud("releases.scopeitem", "releases.techdebtestimate"),
        "codename:releases.decide_scopechangerequest",
        *TEAM_SIGN_OFF,
        "codename:governance.approve_release",
        "codename:governance.accept_residual_risk",
    ],
    AUDITOR: [_READ_ALL, "codename:governance.export_evidence"],
    PIPELINE: [
        _READ_ALL,
        "codename:releases.query_gate",
        "codename:releases.deploy_release",
        "add:releases.deploymentevent",
        "add:releases.testresult",
        "add:releases.artifact",
    ],
}

# Stabilisation areas (metrics app, module 6): each area grants its permissions in its own
# block below with ``_grant([roles], *specs)``; they are merged into ROLE_PERMISSIONS.
STABILISATION_PERMISSIONS: dict[str, list[str]] = {}


def _grant(roles: list[str], *specs: str) -> None:
    for role in roles:
        STABILISATION_PERMISSIONS.setdefault(role, []).extend(specs)


# --- KPI watch (metrics.models.kpis) ---
_grant([RELEASE_MANAGER], *_crud("metrics.kpi"))
_grant([DEPLOYER, PIPELINE], "add:metrics.kpisample")
# Shorten/extend a stabilisation window, acknowledge a KPI alert.
_grant([RELEASE_MANAGER], "change:metrics.stabilisationwindow", "change:metrics.kpialert")
# --- incidents, recovery decisions, data integrity ---
_grant([RELEASE_MANAGER], *_crud("metrics.incident", "metrics.integritycheck"))
_grant([DEPLOYER, PIPELINE], "add:metrics.incident", "change:metrics.incident")
_grant([DEVELOPER], "add:metrics.incident", *_crud("metrics.integritycheck"))
_grant([RELEASE_MANAGER, DEPLOYER], "codename:metrics.decide_recovery")
_grant([RELEASE_MANAGER, DEPLOYER, PIPELINE], "add:metrics.integrityresult")
# --- config drift, runbooks ---
_grant([PIPELINE, DEPLOYER], "add:metrics.configsnapshot")
_grant([RELEASE_MANAGER, DEPLOYER], "change:metrics.driftitem")
_grant(
    [RELEASE_MANAGER, DEVELOPER, DEPLOYER],
    "add:metrics.runbook",
    "add:metrics.runbookversion",
    "add:metrics.runbookcheck",
    "change:metrics.runbookcheck",
)
# --- ticket triage ---
# Help desks (pipeline), deployers and release managers import; RM and deployers override.
_grant([RELEASE_MANAGER, DEPLOYER], "add:metrics.supportticket", "change:metrics.supportticket")
_grant([PIPELINE], "add:metrics.supportticket")
# --- delivery history import (metrics.history) ---
_grant([RELEASE_MANAGER, PIPELINE], "add:metrics.deploymentrecord")
# --- post-mortems and checklists (metrics.postmortems, metrics.checklists) ---
_PM_MODELS = ("metrics.postmortem", "metrics.timelineentry", "metrics.contributingfactor")
_grant(
    [RELEASE_MANAGER, DEPLOYER, DEVELOPER],
    *[f"{a}:{m}" for m in _PM_MODELS for a in ("add", "change")],
    "add:metrics.actionitem",
    "change:metrics.actionitem",
)
_grant([RELEASE_MANAGER], *_crud("metrics.checklisttemplate"), "add:metrics.checklistversion")
_grant([RELEASE_MANAGER, DEPLOYER], "add:metrics.checklistrun", "change:metrics.checklistrunitem")
# --- release quality score: release managers tune the weights and recompute ---
_grant([RELEASE_MANAGER], "change:metrics.qualityweights", "add:metrics.qualityweights")
_grant([RELEASE_MANAGER], "change:metrics.releasequalityscore")
# --- deployment execution (targets, halts, strategy) ---
# Partial failures (retry / roll back / accept) and smoke-test halt overrides: release managers.
_grant(
    [RELEASE_MANAGER], "codename:releases.decide_partial_failure", "codename:releases.override_halt"
)
# --- notifications and outbound webhooks (issue 8) ---
# Chat webhooks, webhook subscriptions and the deliveries page (retry/redeliver): release managers.
_grant(
    [RELEASE_MANAGER],
    *_crud("releasemgr.chatwebhook", "releasemgr.webhooksubscription"),
    "codename:releasemgr.retry_delivery",
)

for _role, _specs in STABILISATION_PERMISSIONS.items():
    ROLE_PERMISSIONS[_role] = [*ROLE_PERMISSIONS[_role], *_specs]

DOMAIN_APPS = ("releasemgr", "releases", "scheduling", "governance", "metrics")


def _resolve(spec: str) -> list[Permission]:
    kind, _, target = spec.partition(":")
    if spec == _READ_ALL:
        return list(
            Permission.objects.filter(
                content_type__app_label__in=DOMAIN_APPS, codename__startswith="view_"
            ).exclude(codename__startswith="view_historical")
        )
    app_label, _, name = target.partition(".")
    codename = name if kind == "codename" else f"{kind}_{name}"
    perms = list(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
    if not perms:
        raise LookupError(
            f"Permission {app_label}.{codename} does not exist (role table out of date)"
        )
    return perms


def sync_roles() -> None:
    for role, specs in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = {p.pk: p for spec in specs for p in _resolve(spec)}
        group.permissions.set(perms.values())


def user_roles(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))
