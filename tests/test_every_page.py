"""Every page and every API list, for every kind of visitor (generic, so new pages are covered).

Walks the URL patterns of the UI and the API router instead of a hand-kept list:
- anonymous: pages redirect to login, API answers 401;
- a logged-in user with no role: 403 on every page and endpoint (but their own tokens);
- the auditor (read-only everything): 200 on every read page, 403 on every write page,
  and a write POST changes nothing.
"""

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from simple_history.models import HistoricalRecords

from governance import models as governance_models
from governance.models import (
    AgendaItem,
    Approval,
    ApprovalRule,
    CabMeeting,
    ChangeModel,
    EvidencePack,
    PolicyVersion,
    RegisterEntry,
    Retrospective,
)
from metrics import models as metrics_models
from metrics.models import SupportTicket
from metrics.models.incidents import Incident
from metrics.models.integrity import IntegrityCheck
from releasemgr.api.urls import router
from releasemgr.models import ApiToken, Notification
from releases.models import (
    ApiConsumer,
    ApiVersion,
    Deployment,
    GateDecision,
    IntegrationFlow,
    QualityGate,
    Release,
    ScopeChangeRequest,
    ScopeItem,
    Service,
    ServiceDependency,
    Team,
    TestResult,
)
from releases.models.packaging import Artifact, CompensatingScript, ConfigSet
from releases.models.resilience import DrTest, RollbackStep
from releases.models.targets import DeploymentTarget
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain
from scheduling.models import (
    Environment,
    FreezeException,
    FreezeWindow,
    GoLiveRule,
    Region,
    ReleaseDependency,
    Reservation,
    TestDataSet,
    ValidationNeed,
    VendorDeliverable,
    Vulnerability,
)
from tests.conftest import make_user

UI_MODULES = (
    "releases.urls",
    "releases.catalog_urls",
    "scheduling.urls",
    "governance.urls",
    "metrics.urls",
    "metrics.urls_metrics",
    "releasemgr.web_urls",
)
# Pages anyone may open (or that only act on the visitor's own things).
PUBLIC = {"login", "logout"}
OWN_THINGS = {
    "token_list",
    "token_create",
    "token_detail",
    "token_revoke",
    "notification_list",
    "notification_read",
    "notification_read_all",
    # The .ics feed answers 403 to a visitor without a role, like the pages; it is
    # checked in tests/scheduling; here it would need its own token handling.
    "calendar_feed",
}
WRITE_SUFFIXES = (
    "_create",
    "_edit",
    "_update",
    "_delete",
    "_add",
    "_deploy",
    "_revoke",
    "_action",
    "_event",
    "_decide",
    "_withdraw",
    "_cancel",
    "_import_holidays",
    "_patch_release",
    "_read",
    "_read_all",
    "_apply",
    "_late_action",
    "_delivered_action",
    "_agenda",
    "_reorder",
    "_start",
    "_close",
    "_vote",
    "_defer",
    "_remove",
    "_resolve",
    "_delay",
    "_sign",
    "_acknowledge",
)
WRITE_NAMES = {"sequencing_update", "patch_sla"}
# The auditor may export evidence (DESIGN.md roles): an empty request is bad input (400),
# and nothing is written.
AUDITOR_MAY_POST = {"evidence_pack_create", "/api/v1/evidence-packs/"}


def _ui_patterns():
    """Named URL patterns of the UI modules, following nested includes."""
    found = []

    def walk(patterns, inside):
        for p in patterns:
            if isinstance(p, URLResolver):
                module = getattr(p.urlconf_module, "__name__", "")
                walk(p.url_patterns, inside or module in UI_MODULES)
            elif inside and isinstance(p, URLPattern) and p.name:
                found.append(p)

    walk(get_resolver().url_patterns, False)
    return found


def _view_model(pattern):
    view = getattr(pattern.callback, "view_class", None)
    model = getattr(view, "model", None)
    if model is None and getattr(view, "queryset", None) is not None:
        model = view.queryset.model
    return model


# URL names whose view has no ``model``: which model their parameters refer to.
MODEL_BY_PREFIX = [
    ("release_dependency_delete", ReleaseDependency),
    ("release_vendor_deliverable", Release),
    ("release_validation_need", Release),
    ("release_dependency", Release),
    ("release_", Release),
    ("validation_need", ValidationNeed),
    ("vendor_deliverable", VendorDeliverable),
    ("golive_rule", GoLiveRule),
    ("scope_change", ScopeChangeRequest),
    ("backlog_item", ScopeItem),
    ("tech_debt", ScopeItem),
    ("scope_item", ScopeItem),
    ("quality_gate", QualityGate),
    ("test_result", TestResult),
    ("service_dependency", ServiceDependency),
    ("service", Service),
    ("team", Team),
    ("environment", Environment),
    ("freeze", FreezeWindow),
    ("region", Region),
    ("exception", FreezeException),
    ("reservation", Reservation),
    ("test_data_set", TestDataSet),
    ("vulnerability", Vulnerability),
    ("deployment", Deployment),
    ("gate", GateDecision),
    ("token", ApiToken),
    ("notification", Notification),
    ("cab_meeting", CabMeeting),
    ("cab_item", AgendaItem),
    ("register_entry", RegisterEntry),
    ("evidence_pack", EvidencePack),
    ("defect", governance_models.Defect),
    ("risk_acceptance", governance_models.RiskAcceptance),
    ("decision_record", governance_models.DecisionRecord),
    ("change_model", ChangeModel),
    ("retrospective", Retrospective),
    ("api_version", ApiVersion),
    ("incident", Incident),
    ("integrity_check", IntegrityCheck),
]


def _kwargs_for(pattern, objects):
    """Fill the URL's parameters from a demo object of the model the page is about."""
    names = set(pattern.pattern.converters)
    if not names:
        return {}
    if pattern.name == "release_action":
        return {"key": objects[Release].key, "action": "submit"}
    if pattern.name == "library_detail":
        return {"slug": objects[LibraryUsage].library.slug}
    model = _view_model(pattern)
    if model is None or model not in objects:
        model = next((m for prefix, m in MODEL_BY_PREFIX if pattern.name.startswith(prefix)), None)
    obj = objects.get(model)
    if obj is None:
        raise AssertionError(f"test_every_page has no demo object for {pattern.name}: add one")
    kwargs = {}
    for name in names:
        if name == "pk":
            kwargs["pk"] = obj.pk
        elif name == "key":
            kwargs["key"] = obj.key if isinstance(obj, Release) else obj.release.key
        elif name == "slug":
            kwargs["slug"] = obj.slug if hasattr(obj, "slug") else obj.service.slug
        elif name == "code":
            kwargs["code"] = obj.code
        elif name == "sequence":
            kwargs["sequence"] = obj.sequence
        elif name == "number":
            kwargs["number"] = obj.number
        else:
            raise AssertionError(f"test_every_page cannot fill <{name}> of {pattern.name}")
    return kwargs


@pytest.fixture
def demo(db):
    call_command("seed_demo", verbosity=0)
    auditor = make_user("audrey", "auditor")
    nobody = make_user("nobody")
    token, _ = ApiToken.issue(auditor, "auditor token")
    draft = Release.objects.filter(state="draft").order_by("created", "pk").first()
    objects = {
        DrTest: DrTest.objects.first(),
        RollbackStep: RollbackStep.objects.filter(release__state="draft").first(),
        Release: draft,
        Artifact: Artifact.objects.first(),
        CompensatingScript: CompensatingScript.objects.first(),
        ConfigSet: ConfigSet.objects.first(),
        Service: Service.objects.get(slug="checkout-service"),
        Team: Team.objects.get(slug="payments"),
        Environment: Environment.objects.get(slug="staging"),
        FreezeWindow: FreezeWindow.objects.first(),
        Deployment: Deployment.objects.first(),
        DeploymentTarget: DeploymentTarget.objects.filter(status="failed").first(),
        GateDecision: GateDecision.objects.first(),
        ApiToken: token,
        ScopeItem: ScopeItem.objects.filter(release__state="draft").first(),
        ScopeChangeRequest: ScopeChangeRequest.objects.first(),
        ServiceDependency: ServiceDependency.objects.filter(
            service__slug="checkout-service"
        ).first(),
        Region: Region.objects.first(),
        GoLiveRule: GoLiveRule.objects.first(),
        FreezeException: FreezeException.objects.first(),
        Reservation: Reservation.objects.first(),
        TestDataSet: TestDataSet.objects.first(),
        ValidationNeed: ValidationNeed.objects.first(),
        VendorDeliverable: VendorDeliverable.objects.first(),
        Vulnerability: Vulnerability.objects.first(),
        ReleaseDependency: ReleaseDependency.objects.first(),
        CabMeeting: CabMeeting.objects.filter(status="in_progress").first(),
        AgendaItem: AgendaItem.objects.filter(outcome="pending").first(),
        RegisterEntry: RegisterEntry.objects.first(),
        EvidencePack: EvidencePack.objects.filter(status="ready").first(),
        governance_models.Defect: governance_models.Defect.objects.first(),
        governance_models.RiskAcceptance: governance_models.RiskAcceptance.objects.first(),
        governance_models.DecisionRecord: governance_models.DecisionRecord.objects.first(),
        ChangeModel: ChangeModel.objects.filter(slug="certificate-rotation").first(),
        Retrospective: Retrospective.objects.filter(completed_at__isnull=True).first(),
        ApprovalRule: ApprovalRule.objects.filter(active=True).first(),
        PolicyVersion: PolicyVersion.objects.first(),
        ApiVersion: ApiVersion.objects.first(),
        ApiConsumer: ApiConsumer.objects.first(),
        IntegrationFlow: IntegrationFlow.objects.first(),
        ReleaseTrain: ReleaseTrain.objects.filter(slug="storefront").first(),
        LibraryUsage: LibraryUsage.objects.first(),
        ReleaseLibraryPin: ReleaseLibraryPin.objects.filter(release__state="draft").first(),
        QualityGate: QualityGate.objects.first(),
        TestResult: TestResult.objects.first(),
        Incident: Incident.objects.filter(release__isnull=False, status="mitigated").first(),
        IntegrityCheck: IntegrityCheck.objects.first(),
        metrics_models.Kpi: metrics_models.Kpi.objects.first(),
        metrics_models.StabilisationWindow: metrics_models.StabilisationWindow.objects.first(),
        metrics_models.KpiAlert: metrics_models.KpiAlert.objects.first(),
        SupportTicket: SupportTicket.objects.first(),
        metrics_models.ConfigSnapshot: metrics_models.ConfigSnapshot.objects.first(),
        metrics_models.DriftItem: metrics_models.DriftItem.objects.filter(status="open").first(),
        metrics_models.Runbook: metrics_models.Runbook.objects.first(),
        metrics_models.RunbookVersion: metrics_models.RunbookVersion.objects.first(),
        metrics_models.PostMortem: metrics_models.PostMortem.objects.first(),
        metrics_models.ActionItem: metrics_models.ActionItem.objects.filter(status="open").first(),
        metrics_models.ChecklistTemplate: metrics_models.ChecklistTemplate.objects.first(),
        metrics_models.ChecklistRunItem: metrics_models.ChecklistRunItem.objects.first(),
        # The demo's figures may suggest nothing: one suggestion to decide on.
        metrics_models.PolicySuggestion: metrics_models.PolicySuggestion.objects.first()
        or metrics_models.PolicySuggestion.objects.create(
            scope="team:payments", direction="tighten", summary="Tighten approvals"
        ),
    }
    missing = sorted(m.__name__ for m, o in objects.items() if o is None)
    assert not missing, f"seed_demo creates no {missing}: the demo data should show every feature"
    return {"auditor": auditor, "nobody": nobody, "objects": objects}


def _urls(demo):
    for pattern in _ui_patterns():
        yield pattern.name, reverse(pattern.name, kwargs=_kwargs_for(pattern, demo["objects"]))


def test_anonymous_visitors_are_sent_to_login_from_every_page(client, demo):
    wrong = []
    for name, url in _urls(demo):
        if name in PUBLIC:
            continue
        response = client.get(url)
        if response.status_code != 302 or not response["Location"].startswith(reverse("login")):
            wrong.append((name, url, response.status_code))
    assert wrong == []


def test_a_user_without_a_role_is_refused_every_page(client, demo):
    client.force_login(demo["nobody"])
    wrong = []
    for name, url in _urls(demo):
        if name in PUBLIC or name in OWN_THINGS:
            continue
        status = client.get(url).status_code
        if status != 403:
            wrong.append((name, url, status))
    assert wrong == []


def test_the_auditor_can_read_every_page_and_write_none(client, demo):
    client.force_login(demo["auditor"])
    wrong = []
    counts_before = _row_counts()
    for name, url in _urls(demo):
        if name in PUBLIC or name in OWN_THINGS:
            continue
        writes = name.endswith(WRITE_SUFFIXES) or name in WRITE_NAMES
        status = client.get(url).status_code
        # A write page may show its form or confirmation (saying why the visitor may not act);
        # what matters is that submitting it is refused.
        expected = {200, 403, 405} if writes else {200}
        if status not in expected:
            wrong.append(("GET", name, url, status))
        if writes:
            status = client.post(url, {"comment": "x", "name": "x"}).status_code
            if status != 403 and not (name in AUDITOR_MAY_POST and status == 400):
                wrong.append(("POST", name, url, status))
    assert wrong == []
    assert _row_counts() == counts_before


def _row_counts():
    models = [
        Release,
        ScopeItem,
        Service,
        ServiceDependency,
        Team,
        Environment,
        FreezeWindow,
        Deployment,
        Approval,
        governance_models.Defect,
        governance_models.RiskAcceptance,
        Incident,
        IntegrityCheck,
    ]
    return {m.__name__: (m.objects.count(), m.history.count()) for m in models}


def _api_list_urls():
    return sorted(f"/api/v1/{prefix}/" for prefix, _viewset, _basename in router.registry)


def test_every_api_list_needs_a_token_and_a_role(api_client, demo):
    anonymous, nobody, auditor = (
        api_client(),
        api_client(demo["nobody"]),
        api_client(demo["auditor"]),
    )
    wrong = []
    for url in _api_list_urls():
        for who, client, expected in [
            ("anonymous", anonymous, 401),
            ("nobody", nobody, 403),
            ("auditor", auditor, 200),
        ]:
            status = client.get(url).status_code
            if status != expected:
                wrong.append((who, url, status))
        status = auditor.post(url, {}, format="json").status_code
        if status not in (403, 405) and not (url in AUDITOR_MAY_POST and status == 400):
            wrong.append(("auditor POST", url, status))
    assert wrong == []


def test_every_domain_model_keeps_history_unless_it_is_an_append_only_record():
    from django.apps import apps

    append_only = {
        "DeploymentEvent": "an append-only record of what a pipeline reported",
        "GateDecision": "an append-only record of a gate answer",
        "JobRun": "bookkeeping of background job runs",
        "DecisionRecord": "the hash-chained decision log: append-only by design",
        "ChainHead": "the decision log's lock row (last sequence and hash)",
        "PolicyVersion": "an append-only snapshot of the approval rules",
        "Notification": "a message to one person; reading it is its only change",
        "KpiSample": "a measured value posted by a monitor (append-only)",
        "CommitRecord": "a commit a deployment shipped (append-only history fact)",
        "IntegrityResult": "a measurement posted by a batch or ETL job (append-only)",
        "ConfigSnapshot": "an observed configuration posted by a pipeline or agent (append-only)",
        "RunbookVersion": "a version of a runbook's text: a change is a new version",
        "ChecklistVersion": "a version of a checklist's items: a change is a new version",
        "IdempotentRequest": "the stored answer of a pipeline POST with an Idempotency-Key",
        "LoginAttempt": "an append-only log of sign-in tries (the lock-out reads it)",
        "UserSession": "a web session (Django's session row, filed under its user)",
        "DailyRollup": "derived figures, rebuilt from the history by metrics.rollups",
        "RollupDay": "the rollup job's per-day lock and dirty marker",
        "NotificationDelivery": "an attempt log of one email/chat delivery (status, attempts)",
        "WebhookDelivery": "an attempt log of one webhook POST (request, response, attempts)",
    }
    missing = []
    for app in ("releasemgr", "releases", "scheduling", "governance", "metrics"):
        for model in apps.get_app_config(app).get_models():
            if model.__name__.startswith("Historical") or model.__name__ in append_only:
                continue
            if not any(
                isinstance(f, HistoricalRecords) for f in vars(model).values()
            ) and not hasattr(model, "history"):
                missing.append(model.__name__)
    assert missing == []
