"""Adaptive approval thresholds: suggestion rules worked out by hand, applying (a new policy
version and a decision-log record), dismissing, permissions, the page and the API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance import policy
from governance.models import ApprovalRule, DecisionRecord, PolicyVersion
from metrics import adaptive_policy
from metrics.models import DeploymentRecord, Incident, PolicySuggestion
from tests.factories import EnvironmentFactory, ReleaseFactory, ServiceFactory, TeamFactory

TODAY = timezone.now().date()


@pytest.fixture
def prod(db):
    return EnvironmentFactory(slug="prod", is_production=True)


def deployments(service, prod, n, *, failed=0, days_ago=10):
    """``n`` production deployments of ``service`` ``days_ago`` days back, ``failed`` of them failed."""
    at = timezone.now() - timedelta(days=days_ago)
    return [
        DeploymentRecord.objects.create(
            service=service,
            team=service.team,
            environment=prod,
            is_production=True,
            version=f"1.{i}",
            status="failed" if i < failed else "succeeded",
            finished_at=at + timedelta(minutes=i),
        )
        for i in range(n)
    ]


def incident(record, hours):
    start = record.finished_at + timedelta(minutes=5)
    return Incident.objects.create(
        title="outage",
        service=record.service,
        severity="high",
        started_at=start,
        resolved_at=start + timedelta(hours=hours),
        deployment_record=record,
    )


@pytest.fixture
def pay(db):
    return ServiceFactory(slug="pay", team=TeamFactory(slug="payments"))


def test_too_little_data_gives_no_suggestion(pay, prod):
    deployments(pay, prod, 19)  # one short of 20, all perfect
    result = adaptive_policy.assess("team:payments")
    assert result.direction is None
    assert result.reasons[0].code == "enough_data" and not result.reasons[0].passed
    assert "19 production deployments" in result.reasons[0].message


def test_good_figures_suggest_relaxing_with_evidence(pay, prod):
    records = deployments(pay, prod, 20)
    incident(records[0], 0.5)  # CFR 1/20 = 5 % (≤ 5 %), MTTR 0.5 h (≤ 1 h)
    result = adaptive_policy.assess("team:payments")
    assert result.direction == "relax"
    assert result.evidence["deployments"] == 20
    assert result.evidence["change_failure_rate"] == 0.05
    assert result.evidence["mttr_hours"] == 0.5
    assert result.evidence["success_rate"] == 1.0
    assert result.evidence["thresholds"]["min_deployments"] == 20


def test_high_failure_rate_suggests_tightening(pay, prod):
    deployments(pay, prod, 20, failed=6)  # 6/20 = 30 %
    result = adaptive_policy.assess("team:payments")
    assert result.direction == "tighten"
    assert result.evidence["success_rate"] == 0.7
    assert "change failure rate 30.0 % ≥ 30 %" in [r.message for r in result.reasons]


def test_in_between_figures_and_old_history_give_nothing(pay, prod):
    deployments(pay, prod, 20, failed=2)  # 10 %: neither
    assert adaptive_policy.assess("team:payments").direction is None
    deployments(pay, prod, 40, days_ago=120)  # outside the 90 days
    assert adaptive_policy.assess("team:payments").evidence["deployments"] == 20


def test_domain_is_assessed_too(prod):
    svc = ServiceFactory(slug="cards", team=TeamFactory(slug="t1"), domain="cards")
    deployments(svc, prod, 20, failed=10)
    assert adaptive_policy.assess("domain:cards").direction == "tighten"


def _open(direction):
    return PolicySuggestion.objects.get(status="open", direction=direction)


def test_refresh_is_idempotent_and_withdraws_stale(pay, prod):
    deployments(pay, prod, 20, failed=6)
    adaptive_policy.refresh()
    adaptive_policy.refresh()
    assert PolicySuggestion.objects.filter(status="open").count() == 1
    DeploymentRecord.objects.filter(status="failed").update(status="succeeded")
    adaptive_policy.refresh()
    assert _open("relax").scope == "team:payments"
    assert PolicySuggestion.objects.get(direction="tighten").status == "dismissed"


def test_applying_tighten_publishes_version_and_logs_decision(pay, prod, olivia):
    deployments(pay, prod, 20, failed=6)
    adaptive_policy.refresh()
    before = PolicyVersion.objects.count()
    row = adaptive_policy.apply(_open("tighten"), olivia, "too many failures")
    assert row.status == "applied" and row.policy_version == PolicyVersion.objects.get().number
    assert PolicyVersion.objects.count() == before + 1
    rule = ApprovalRule.objects.get(scopes=["team:payments"])
    assert rule.min_band == "medium" and rule.approvers == [{"group": "cab_member", "count": 1}]
    entry = DecisionRecord.objects.get(subject=f"policy-suggestion:{row.pk}")
    assert entry.outcome == "applied"
    assert entry.data["evidence"]["change_failure_rate"] == 0.3
    # The rule binds payments' releases only.
    mine = ReleaseFactory(services=[(pay, "1.0")])
    other = ReleaseFactory(services=[(ServiceFactory(slug="web"), "1.0")])
    snap = [r for r in policy.live_rules() if r["name"] == rule.name][0]
    assert policy.evaluate(mine, rules=[snap], band="medium").applied
    assert not policy.evaluate(other, rules=[snap], band="medium").applied


def test_applying_relax_excepts_low_risk_changes_of_the_team(pay, prod, olivia, alice):
    rule = ApprovalRule(
        name="Normal changes need two CAB members",
        change_types=["normal"],
        approvers=[{"group": "cab_member", "count": 2}],
    )
    rule.save_with_reason("test")
    deployments(pay, prod, 25)
    adaptive_policy.refresh()
    adaptive_policy.apply(_open("relax"), olivia, "excellent record")
    rule.refresh_from_db()
    assert rule.except_scopes == ["team:payments"]
    rules = policy.live_rules()
    mine = ReleaseFactory(services=[(pay, "1.0")])
    low = policy.evaluate(mine, rules=rules, band="low")
    assert low.fallback  # no rule asks for two CAB members any more (the fallback's one does)
    medium = policy.evaluate(mine, rules=rules, band="medium")
    assert [(r.role, r.count) for r in medium.requirements] == [("cab_member", 2)]


def test_only_compliance_officers_decide_and_bad_input_writes_nothing(
    pay, prod, alice, olivia, api_client
):
    deployments(pay, prod, 20, failed=6)
    adaptive_policy.refresh()
    row = _open("tighten")
    url = f"/api/v1/metrics/policy-suggestions/{row.pk}/apply/"
    versions = PolicyVersion.objects.count()
    assert api_client(alice).post(url, {"reason": "x"}).status_code == 403
    blank = api_client(olivia).post(url, {"reason": "  "})
    assert blank.status_code == 400
    assert "Give a reason" in str(blank.json())
    assert PolicyVersion.objects.count() == versions
    assert ApprovalRule.objects.count() == 0
    ok = api_client(olivia).post(url, {"reason": "agreed"})
    assert ok.status_code == 200 and ok.json()["status"] == "applied"
    again = api_client(olivia).post(url, {"reason": "agreed"})
    assert again.status_code == 409


def test_api_lists_suggestions_with_bounded_queries(
    prod, audrey, api_client, django_assert_max_num_queries
):
    for n in range(3):
        svc = ServiceFactory(slug=f"s{n}", team=TeamFactory(slug=f"team{n}"))
        deployments(svc, prod, 20, failed=8)
    adaptive_policy.refresh()
    client = api_client(audrey)
    with django_assert_max_num_queries(8):
        body = client.get("/api/v1/metrics/policy-suggestions/?status=open").json()
    assert body["count"] == 3
    assert body["results"][0]["evidence"]["deployments"] == 20
    for n in range(3, 12):
        svc = ServiceFactory(slug=f"s{n}", team=TeamFactory(slug=f"team{n}"))
        deployments(svc, prod, 20, failed=8)
    adaptive_policy.refresh()
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/metrics/policy-suggestions/").json()["count"] == 12


def test_page_shows_evidence_and_dismiss_needs_reason(pay, prod, client, olivia, audrey):
    deployments(pay, prod, 20, failed=6)
    adaptive_policy.refresh()
    row = _open("tighten")
    client.force_login(audrey)
    page = client.get(reverse("policy_suggestion_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "change failure rate 30.0 %" in html
    assert client.post(reverse("policy_suggestion_decide", args=[row.pk]), {}).status_code == 403
    client.force_login(olivia)
    url = reverse("policy_suggestion_decide", args=[row.pk])
    bad = client.post(url, {"action": "dismiss", "reason": ""})
    assert bad.status_code == 400
    row.refresh_from_db()
    assert row.status == "open"
    assert client.post(url, {"action": "dismiss", "reason": "we know why"}).status_code == 302
    row.refresh_from_db()
    assert row.status == "dismissed" and row.decision_reason == "we know why"
    assert DecisionRecord.objects.filter(outcome="dismissed").exists()
