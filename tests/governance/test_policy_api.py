"""``/api/v1/approval-rules/``, ``/api/v1/policy-versions/``, ``/api/v1/releases/{key}/policy/``."""

import pytest

from governance.models import ApprovalRule, DecisionRecord, PolicyVersion
from releases import lifecycle
from tests.governance.policy_helpers import rule

RULES = "/api/v1/approval-rules/"

HIGH_RISK = {
    "name": "High risk",
    "min_band": "high",
    "approvers": [{"group": "cab_member", "count": 2}],
}


def counts():
    return (
        ApprovalRule.objects.count(),
        ApprovalRule.history.count(),
        PolicyVersion.objects.count(),
        DecisionRecord.objects.count(),
    )


def test_a_compliance_officer_creates_a_rule_and_a_version_is_published(api_client, olivia):
    response = api_client(olivia).post(RULES, HIGH_RISK, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["approvers"] == [{"group": "cab_member", "count": 2}]
    assert body["policy_version"] == 1
    assert body["customer_facing"] is None
    saved = ApprovalRule.objects.get()
    assert saved.history.first().history_user == olivia
    assert PolicyVersion.objects.get().rules[0]["name"] == "High risk"
    assert DecisionRecord.objects.get().kind == "policy_change"


def test_a_rule_naming_a_missing_group_is_400_on_approvers_and_writes_nothing(api_client, olivia):
    before = counts()

    response = api_client(olivia).post(
        RULES,
        {**HIGH_RISK, "approvers": [{"group": "ghost_board", "count": 1}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["approvers"] == ["Group 'ghost_board' does not exist."]
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**HIGH_RISK, "approvers": []}, "approvers"),
        ({**HIGH_RISK, "approvers": [{"group": "cab_member", "count": 0}]}, "approvers"),
        ({**HIGH_RISK, "min_band": "extreme"}, "min_band"),
        ({**HIGH_RISK, "touches": ["the_moon"]}, "touches"),
        ({**HIGH_RISK, "change_types": ["sideways"]}, "change_types"),
    ],
)
def test_bad_rules_are_400_with_field_errors(api_client, olivia, body, field):
    before = counts()

    response = api_client(olivia).post(RULES, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert counts() == before


def test_editing_a_rule_publishes_the_next_version_with_its_diff(api_client, olivia, audrey):
    saved = rule("High risk", [("cab_member", 2)], olivia, min_band="high")

    response = api_client(olivia).patch(f"{RULES}{saved.pk}/", {"active": False}, format="json")

    assert response.status_code == 200
    assert response.json()["policy_version"] == 2
    version = api_client(audrey).get("/api/v1/policy-versions/2/").json()
    assert version["changes"] == [
        {
            "rule": "High risk",
            "change": "changed",
            "fields": [{"field": "active", "old": True, "new": False}],
        }
    ]


def test_deleting_a_rule_publishes_a_version_without_it(api_client, olivia):
    saved = rule("High risk", [("cab_member", 2)], olivia)

    response = api_client(olivia).delete(f"{RULES}{saved.pk}/")

    assert response.status_code == 204
    assert PolicyVersion.objects.get(number=2).rules == []


@pytest.mark.parametrize(
    ("persona", "status"), [("olivia", 201), ("carol", 403), ("alice", 403), ("audrey", 403)]
)
def test_who_may_create_rules_through_the_api(api_client, request, persona, status):
    response = api_client(request.getfixturevalue(persona)).post(RULES, HIGH_RISK, format="json")

    assert response.status_code == status


def test_a_cab_member_may_not_write_the_policy_they_approve_under(api_client, carol, olivia):
    saved = rule("High risk", [("cab_member", 2)], olivia)
    cab = api_client(carol)
    before = counts()

    created = cab.post(RULES, {**HIGH_RISK, "name": "CAB's own rule"}, format="json")
    changed = cab.patch(f"{RULES}{saved.pk}/", {"approvers": []}, format="json")
    deleted = cab.delete(f"{RULES}{saved.pk}/")

    assert (created.status_code, changed.status_code, deleted.status_code) == (403, 403, 403)
    assert counts() == before
    assert ApprovalRule.objects.get().approvers == [{"group": "cab_member", "count": 2}]


def test_the_rule_list_filters_by_group(api_client, audrey, olivia):
    rule("CAB", [("cab_member", 1)], olivia)
    rule("Compliance", [("compliance_officer", 1)], olivia)

    body = api_client(audrey).get(RULES + "?group=compliance_officer").json()

    assert [r["name"] for r in body["results"]] == ["Compliance"]


@pytest.mark.parametrize("url", [RULES, "/api/v1/policy-versions/"])
def test_policy_lists_query_a_bounded_number_of_times(
    api_client, audrey, olivia, url, django_assert_max_num_queries
):
    client = api_client(audrey)
    for size in (2, 30):
        for i in range(size):
            rule(f"Rule {size}-{i}", [("cab_member", 1)], olivia)
        with django_assert_max_num_queries(10):
            assert client.get(url).status_code == 200


def test_a_release_policy_answers_what_it_needs_which_rules_applied_and_what_is_missing(
    api_client, draft_release, dave, carol, olivia
):
    rule("Normal changes", [("cab_member", 1)], olivia, change_types=["normal"], position=1)
    rule("Emergency", [("cab_member", 1)], olivia, change_types=["emergency"], position=2)
    rule("Compliance", [("compliance_officer", 1)], olivia, customer_facing=True, position=3)
    lifecycle.submit(draft_release, dave)
    lifecycle.approve(draft_release, carol)

    body = api_client(dave).get(f"/api/v1/releases/{draft_release.key}/policy/").json()

    assert body["frozen"] is True
    assert body["policy_version"] == 3
    assert [(r["group"], r["count"]) for r in body["requirements"]] == [
        ("cab_member", 1),
        ("compliance_officer", 1),
    ]
    assert [(r["data"]["rule"], r["passed"]) for r in body["rules"]] == [
        ("Normal changes", True),
        ("Emergency", False),
        ("Compliance", True),
    ]
    assert body["approved"] is False
    missing = [s for s in body["status"] if not s["passed"]]
    assert [s["code"] for s in missing] == ["approval_compliance_officer"]
    may = {r["code"]: r["passed"] for r in body["may_decide"]}
    assert may["segregation_of_duties"] is False


def test_the_policy_of_an_unknown_release_is_404(api_client, dave):
    assert api_client(dave).get("/api/v1/releases/REL-1900-0001/policy/").status_code == 404
