"""The History tab reads as a person would say it: labels and names, not codes and ids."""

import pytest

from releasemgr.web import history_rows
from releases import lifecycle


@pytest.mark.django_db
def test_history_shows_state_labels_and_related_names(draft_release, dave, carol, alice):
    draft_release.owner = alice
    draft_release.save_with_reason("handed to alice", user=dave)
    lifecycle.submit(draft_release, dave)
    lifecycle.approve(draft_release, carol, "fine")

    rows = history_rows(draft_release)

    approve, submit, handover = rows[0], rows[1], rows[2]
    assert approve["user"] == carol
    assert {"field": "state", "old": "Submitted", "new": "Approved"} in approve["changes"]
    assert {"field": "approval round", "old": 0, "new": 1} in submit["changes"]
    assert {"field": "owner", "old": "dave", "new": "alice"} in handover["changes"]
    assert handover["reason"] == "handed to alice"
    assert rows[-1]["type"] == "Created"


@pytest.mark.django_db
def test_history_rows_cost_a_bounded_number_of_queries(
    draft_release, dave, alice, carol, django_assert_max_num_queries
):
    for owner in [alice, carol, dave] * 5:
        draft_release.owner = owner
        draft_release.save_with_reason("reassigned", user=dave)

    with django_assert_max_num_queries(3):
        rows = history_rows(draft_release)
    assert len(rows) == 16
