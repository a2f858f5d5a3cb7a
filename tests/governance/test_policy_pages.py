"""Approval policy pages: rules, versions, the preview, and the release's Approvals tab."""

import re

import pytest
from django.urls import reverse

from governance import policy
from governance.models import ApprovalRule, DecisionRecord, PolicyVersion
from releases import lifecycle
from tests.factories import ReleaseFactory
from tests.governance.policy_helpers import rule

LIST = reverse("approval_rule_list")
CREATE = reverse("approval_rule_create")


def post_rule(client, url, *, name="High risk", approvers=(("cab_member", "2"),), **fields):
    data = {
        "name": name,
        "description": "",
        "position": "30",
        "active": "on",
        "min_band": "high",
        "customer_facing": "unknown",
        "note": "",
        "approvers-TOTAL_FORMS": str(len(approvers) + 1),
        "approvers-INITIAL_FORMS": "0",
        "approvers-MIN_NUM_FORMS": "0",
        "approvers-MAX_NUM_FORMS": "1000",
    }
    for i, (group, count) in enumerate(approvers):
        data[f"approvers-{i}-group"] = group
        data[f"approvers-{i}-count"] = count
    data[f"approvers-{len(approvers)}-group"] = ""
    data[f"approvers-{len(approvers)}-count"] = "1"
    data.update(fields)
    return client.post(url, data)


def counts():
    return (
        ApprovalRule.objects.count(),
        ApprovalRule.history.count(),
        PolicyVersion.objects.count(),
        DecisionRecord.objects.count(),
    )


# --- who may see and change rules ----------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "dave", "olivia", "paula", "audrey"])
def test_every_role_reads_the_policy_pages(client, request, persona, olivia):
    saved = rule("Normal changes", [("cab_member", 1)], olivia, change_types=["normal"])
    client.force_login(request.getfixturevalue(persona))

    for url in (
        LIST,
        saved.get_absolute_url(),
        reverse("policy_version_list"),
        PolicyVersion.objects.get().get_absolute_url(),
        reverse("policy_preview"),
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("persona", "status"),
    [("olivia", 302), ("carol", 403), ("alice", 403), ("dave", 403), ("audrey", 403)],
)
def test_only_compliance_officers_create_rules(client, request, persona, status):
    client.force_login(request.getfixturevalue(persona))

    response = post_rule(client, CREATE)

    assert response.status_code == status
    assert ApprovalRule.objects.filter(name="High risk").exists() is (status == 302)


def test_a_cab_member_gets_403_on_the_rule_create_and_edit_pages(client, carol, olivia):
    saved = rule("Normal changes", [("cab_member", 1)], olivia)
    client.force_login(carol)
    before = counts()

    pages = [CREATE, reverse("approval_rule_edit", args=[saved.pk])]

    assert [client.get(url).status_code for url in pages] == [403, 403]
    assert post_rule(client, CREATE).status_code == 403
    assert post_rule(client, pages[1], approvers=(("cab_member", "3"),)).status_code == 403
    assert counts() == before
    assert ApprovalRule.objects.get().approvers == [{"group": "cab_member", "count": 1}]


def test_only_a_compliance_officer_deletes_a_rule(client, carol, olivia):
    saved = rule("Normal changes", [("cab_member", 1)], olivia)
    delete = reverse("approval_rule_delete", args=[saved.pk])
    client.force_login(carol)
    assert client.post(delete).status_code == 403

    client.force_login(olivia)
    assert client.post(delete).status_code == 302
    assert not ApprovalRule.objects.exists()
    assert PolicyVersion.objects.get(number=2).rules == []
    # The page's note names the rule: it is said once, not "removed “X”. olivia deleted “X”".
    assert DecisionRecord.objects.order_by("-sequence").first().summary == (
        "Approval policy v2 published: olivia deleted “Normal changes”."
    )


# --- creating and editing publishes versions --------------------------------------------------


def test_creating_a_rule_saves_it_with_history_and_publishes_a_version(client, olivia):
    client.force_login(olivia)

    response = post_rule(
        client,
        CREATE,
        name="Customer-facing high risk",
        approvers=(("product_owner", "1"), ("cab_member", "2")),
        customer_facing="true",
        touches=["payments"],
        change_types=["normal", "emergency"],
        note="Product owner signs customer-facing risk",
    )

    saved = ApprovalRule.objects.get()
    assert response["Location"] == saved.get_absolute_url()
    assert saved.approvers == [
        {"group": "product_owner", "count": 1},
        {"group": "cab_member", "count": 2},
    ]
    assert (saved.customer_facing, saved.touches, saved.change_types, saved.min_band) == (
        True,
        ["payments"],
        ["normal", "emergency"],
        "high",
    )
    assert saved.history.first().history_user == olivia
    version = PolicyVersion.objects.get()
    assert version.note == "Product owner signs customer-facing risk"
    assert version.rules[0]["name"] == "Customer-facing high risk"
    page = client.get(response["Location"]).content.decode()
    assert "1 × <code>product_owner</code>" in page


def test_editing_a_rule_records_what_changed_and_the_version_diff(client, olivia):
    saved = rule("High risk", [("cab_member", 2)], olivia, min_band="high", position=30)
    client.force_login(olivia)

    post_rule(
        client, reverse("approval_rule_edit", args=[saved.pk]), approvers=(("cab_member", "3"),)
    )

    saved.refresh_from_db()
    assert saved.approvers == [{"group": "cab_member", "count": 3}]
    assert saved.history.first().history_change_reason == "edited: approvers"
    version = PolicyVersion.objects.get(number=2)
    page = client.get(version.get_absolute_url()).content.decode()
    assert "changed</span> <strong>High risk</strong>" in page
    assert (
        '<span class="text-muted">approvers:</span> <del class="text-danger">2 × cab_member</del>'
        ' → <ins class="text-success">3 × cab_member</ins>'
    ) in page
    assert "{'group'" not in page


def diff_line(page: str, field: str) -> str:
    """One changed field of the version diff, as text ("change types: normal → …")."""
    found = re.search(rf'<div class="small" data-field="{field}">(.*?)</div>', page)
    assert found, f"no {field} line in the diff"
    return re.sub(r"<[^>]+>", "", found.group(1)).replace("&gt;", ">")


def test_the_version_diff_shows_change_types_touches_and_flags_in_words(client, olivia):
    saved = rule("Risky", [("cab_member", 1)], olivia, change_types=["normal"], position=30)
    saved.change_types = ["normal", "emergency"]
    saved.touches = ["access_control", "audit_trail"]
    saved.customer_facing = True
    saved.min_band = "high"
    saved.active = False
    saved.save_with_reason("widened", user=olivia)
    version = policy.publish(olivia, "widened")
    client.force_login(olivia)

    page = client.get(version.get_absolute_url()).content.decode()

    assert diff_line(page, "change_types") == "change types: normal → normal, emergency"
    assert diff_line(page, "touches") == "touches: any → access control, audit trails"
    assert diff_line(page, "customer_facing") == "customer-facing: any → yes"
    assert diff_line(page, "min_band") == "risk band from: any → high"
    assert diff_line(page, "active") == "active: yes → no"


def test_a_rule_naming_a_missing_group_shows_a_clear_error_and_writes_nothing(client, olivia):
    client.force_login(olivia)
    before = counts()

    response = post_rule(client, CREATE, approvers=(("ghost_board", "1"),))

    assert response.status_code == 400
    assert "Group &#x27;ghost_board&#x27; does not exist" in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize(
    ("approvers", "message"),
    [
        ((), "Name at least one group and how many approvals."),
        ((("cab_member", "1"), ("cab_member", "2")), "Name each group once"),
        ((("cab_member", "0"),), "Ensure this value is greater than or equal to 1."),
    ],
)
def test_bad_approver_rows_are_refused_with_a_message(client, olivia, approvers, message):
    client.force_login(olivia)
    before = counts()

    response = post_rule(client, CREATE, approvers=approvers)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert counts() == before


def test_a_duplicate_rule_name_is_a_field_error(client, olivia):
    rule("High risk", [("cab_member", 2)], olivia)
    client.force_login(olivia)
    before = counts()

    response = post_rule(client, CREATE)

    assert response.status_code == 400
    assert "Approval rule with this Name already exists." in response.content.decode()
    assert counts() == before


# --- lists ---------------------------------------------------------------------------------------


def test_the_rule_list_filters_by_change_type_and_group(client, alice, olivia):
    rule("Normal", [("cab_member", 1)], olivia, change_types=["normal"])
    rule("Emergency", [("cab_member", 1)], olivia, change_types=["emergency"])
    rule("Everything", [("compliance_officer", 1)], olivia)
    client.force_login(alice)

    def names(query):
        return [r.name for r in client.get(LIST + query).context["page"]]

    assert names("?change_type=normal") == ["Everything", "Normal"]
    assert names("?group=compliance_officer") == ["Everything"]
    assert names("?active=false") == []


@pytest.mark.parametrize("url", [LIST, reverse("policy_version_list")])
def test_policy_lists_query_a_bounded_number_of_times(
    client, alice, olivia, url, django_assert_max_num_queries
):
    client.force_login(alice)
    for size in (2, 30):
        for i in range(size):
            rule(f"Rule {size}-{i}", [("cab_member", 1)], olivia, position=i)
        with django_assert_max_num_queries(12):
            assert client.get(url).status_code == 200


def test_the_empty_rule_list_says_what_the_default_is(client, alice):
    client.force_login(alice)

    assert "every release needs one CAB member" in client.get(LIST).content.decode()


# --- preview and the release page ---------------------------------------------------------------


def test_the_preview_shows_which_rules_apply_to_a_release_and_why(
    client, carol, olivia, draft_release
):
    rule("Normal changes", [("cab_member", 1)], olivia, change_types=["normal"])
    rule("Emergency", [("cab_member", 1)], olivia, change_types=["emergency"])
    client.force_login(carol)

    response = client.get(reverse("policy_preview") + f"?release={draft_release.key}")

    body = response.content.decode()
    assert "“Normal changes” applies: change type normal is one of normal" in body
    assert "“Emergency” does not apply: change type normal is not one of emergency" in body


def test_the_preview_of_an_unknown_release_says_so(client, carol):
    client.force_login(carol)

    response = client.get(reverse("policy_preview") + "?release=REL-1900-0001")

    assert response.status_code == 400
    assert "There is no release &#x27;REL-1900-0001&#x27;." in response.content.decode()


def test_the_approvals_tab_shows_frozen_progress_rules_and_conditions(
    client, dave, carol, olivia, draft_release
):
    rule("CAB and compliance", [("cab_member", 1), ("compliance_officer", 1)], olivia)
    lifecycle.submit(draft_release, dave)
    lifecycle.approve(draft_release, carol, "ok", conditions="Only after 18:00")
    client.force_login(olivia)

    body = client.get(draft_release.get_absolute_url()).content.decode()

    assert "1 of 1" in body and "0 of 1" in body
    assert "“CAB and compliance” applies" in body
    assert "Frozen at submission under" in body and ">policy v1</a>" in body
    assert "Only after 18:00" in body
    assert 'data-testid="approve-button">Approve' in body


def test_the_author_sees_the_approve_button_refused_with_the_reason(
    client, dave, submitted_release
):
    client.force_login(dave)

    body = client.get(submitted_release.get_absolute_url()).content.decode()

    assert "You authored this release" in body
    assert 'data-testid="approve-button" disabled' in body


def test_a_cab_member_who_authored_a_release_sees_approve_disabled(client, carol, alice, payments):
    own = lifecycle.submit(ReleaseFactory(author=carol, services=[(payments, "2.0.0")]), alice)
    client.force_login(carol)

    body = client.get(own.get_absolute_url()).content.decode()

    assert f"carol authored {own.key} and cannot approve it" in body
    assert 'data-testid="approve-button" disabled' in body


def test_the_edit_form_shows_the_rule_as_saved(client, olivia):
    saved = rule(
        "Customer-facing",
        [("product_owner", 1)],
        olivia,
        customer_facing=True,
        touches=["payments"],
    )
    client.force_login(olivia)

    form = client.get(reverse("approval_rule_edit", args=[saved.pk])).context["form"]

    assert 'value="true" selected' in str(form["customer_facing"])
    assert form["touches"].value() == ["payments"]
