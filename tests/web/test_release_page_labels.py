"""The release page says which risk score it shows, offers the evidence pack where actions are,
and its tab badges count what the tabs list."""

import re

import pytest
from django.urls import reverse

from governance.models import RiskAssessment
from releases import lifecycle
from tests.governance.defects_support import defect
from tests.governance.register_support import known_error


def tab_badge(body: str, pane: str) -> str:
    found = re.search(
        rf'data-bs-target="#{pane}-pane"[^>]*>[^<]*<span class="badge[^"]*"[^>]*>(\d+)</span>', body
    )
    assert found, f"no badge on the {pane} tab"
    return found.group(1)


# --- risk: now, and at submission --------------------------------------------------------------


def test_the_header_labels_its_risk_score_as_now(client, audrey, draft_release):
    client.force_login(audrey)

    body = client.get(draft_release.get_absolute_url()).content.decode()

    assert '<span class="fw-normal" data-testid="risk-when">now</span>' in body


def test_the_risk_tab_shows_both_scores_when_the_release_changed_since_submission(
    client, audrey, submitted_release
):
    kept = RiskAssessment.objects.get(release=submitted_release)
    RiskAssessment.objects.filter(pk=kept.pk).update(score=3, band="low", factors=[])
    client.force_login(audrey)

    response = client.get(submitted_release.get_absolute_url())

    body = response.content.decode()
    assert 'data-testid="risk-at-submission"' in body
    assert "At submission (round 1)" in body
    assert "The approvers and the CAB board see the score kept at submission (3, low)" in body


def test_the_risk_tab_says_when_the_score_is_the_one_kept_at_submission(
    client, audrey, submitted_release
):
    client.force_login(audrey)

    body = client.get(submitted_release.get_absolute_url()).content.decode()

    assert 'data-testid="risk-same"' in body
    assert 'data-testid="risk-at-submission"' not in body


def test_the_cab_board_labels_its_scores_as_kept_at_submission(client, carol, submitted_release):
    client.force_login(carol)

    body = client.get(reverse("cab_board")).content.decode()

    assert "Risk at submission</th>" in body
    assert "at submission (the release page also shows it now)" in body


# --- the evidence pack in the Actions card ----------------------------------------------------


@pytest.mark.parametrize("persona", ["audrey", "olivia", "alice"])
def test_roles_that_export_evidence_find_the_button_in_the_actions_card(
    client, request, persona, approved_release
):
    client.force_login(request.getfixturevalue(persona))

    body = client.get(approved_release.get_absolute_url()).content.decode()

    card = body[body.index('data-testid="release-actions"') : body.index('id="release-tabs"')]
    link = f'href="{reverse("evidence_pack_create")}?release={approved_release.key}"'
    assert link in card and 'data-testid="evidence-pack-button"' in card
    assert "No actions are open to you" not in card


def test_the_auditor_is_not_told_no_actions_are_open_when_the_evidence_pack_is(
    client, audrey, draft_release
):
    client.force_login(audrey)

    body = client.get(draft_release.get_absolute_url()).content.decode()

    assert "No actions are open to you" not in body
    assert body.count('data-testid="evidence-pack-button"') == 1


def test_a_developer_without_actions_gets_neither_the_button_nor_an_empty_card(
    client, dave, approved_release
):
    client.force_login(dave)

    body = client.get(approved_release.get_absolute_url()).content.decode()

    assert 'data-testid="evidence-pack-button"' not in body
    assert "No actions are open to you while the release is approved." in body


def test_the_evidence_form_comes_prefilled_with_the_release(client, audrey, draft_release):
    client.force_login(audrey)

    response = client.get(f"{reverse('evidence_pack_create')}?release={draft_release.key}")

    assert response.context["form"].initial["release"] == draft_release.key


# --- tab badges count what the tabs list -------------------------------------------------------


def test_the_defects_badge_counts_every_defect_the_tab_lists(client, alice, approved_release):
    for title in ("Refunds round down", "Receipt typo", "Slow export"):
        defect(approved_release, alice, title=title, severity="low")
    from governance import defects

    closed = approved_release.defects.get(title="Slow export")
    defects.resolve_defect(closed, alice, comment="Fixed in 1.4.3.")
    client.force_login(alice)

    body = client.get(approved_release.get_absolute_url()).content.decode()

    assert tab_badge(body, "defects") == "3"
    assert 'title="2 open"' in body


def test_the_register_badge_counts_the_entries_listed_on_the_tab(
    client, olivia, draft_release, payments
):
    known_error(olivia, service=payments, title="Payouts CSV times out")
    client.force_login(olivia)

    body = client.get(draft_release.get_absolute_url()).content.decode()

    assert tab_badge(body, "register") == "1"
    assert "Payouts CSV times out" in body
    assert "Nothing recorded for this release." not in body
    assert "Nothing recorded on the release itself; 1 entry on its services below." in body


def test_the_register_badge_is_zero_when_the_tab_says_nothing_is_recorded(
    client, olivia, draft_release
):
    client.force_login(olivia)

    body = client.get(draft_release.get_absolute_url()).content.decode()

    assert tab_badge(body, "register") == "0"
    assert "Nothing recorded for this release." in body


# --- the Approvals tab's decisions table ----------------------------------------------------


def test_the_decisions_table_scrolls_inside_its_card(client, carol, submitted_release):
    lifecycle.approve(submitted_release, carol, "A long comment " * 20)
    client.force_login(carol)

    body = client.get(submitted_release.get_absolute_url()).content.decode()

    assert '<div class="table-responsive" data-testid="approval-decisions">' in body
