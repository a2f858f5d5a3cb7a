"""Data integrity checks: the job's values decide pass or fail (equal, within tolerance,
expected value, checksums), and a check that has not passed blocks closing the release."""

import pytest

from metrics import integrity
from metrics.models import IntegrityCheck, IntegrityResult
from releasemgr.decisions import IllegalTransition, NotPermitted
from releases import lifecycle
from tests.factories import ScopeItemFactory


@pytest.fixture
def deployed(move_to):
    return move_to("deployed")


def check(release, user, **kwargs):
    kwargs.setdefault("name", "payouts row count")
    kwargs.setdefault("kind", "row_count")
    return integrity.add_check(release, user, **kwargs)


@pytest.mark.parametrize(
    ("before", "after", "passed"),
    [("1000", "1000", True), ("1,000", "1000.0", True), ("1000", "999", False)],
)
def test_an_equality_check_passes_only_when_the_values_match(
    deployed, alice, bob, before, after, passed
):
    c = check(deployed, alice)

    result = integrity.post_result(c, bob, before_value=before, after_value=after)

    assert result.passed is passed


@pytest.mark.parametrize(
    ("after", "passed"), [("1020", True), ("980", True), ("1021", False), ("979", False)]
)
def test_a_tolerance_check_allows_the_given_percentage(deployed, alice, bob, after, passed):
    c = check(deployed, alice, kind="sum", relation="within_tolerance", tolerance_percent=2)

    result = integrity.post_result(c, bob, before_value="1000", after_value=after)

    assert result.passed is passed
    assert "2% tolerance" in result.explanation


def test_an_expected_value_check_compares_the_value_after(deployed, alice, bob):
    c = check(deployed, alice, kind="reconciliation", relation="expected_value", expected_value="0")

    assert integrity.post_result(c, bob, after_value="0").passed
    assert not integrity.post_result(c, bob, after_value="3").passed


def test_checksums_compare_as_text(deployed, alice, bob):
    c = check(deployed, alice, kind="checksum")

    assert integrity.post_result(c, bob, before_value="ab12", after_value="ab12").passed
    assert not integrity.post_result(c, bob, before_value="ab12", after_value="ab13").passed


def test_a_value_that_is_not_a_number_is_refused_and_nothing_is_written(deployed, alice, bob):
    c = check(deployed, alice)

    with pytest.raises(integrity.InvalidInput) as exc:
        integrity.post_result(c, bob, before_value="lots", after_value="1000")

    assert exc.value.reasons[0].data["field"] == "before_value"
    assert IntegrityResult.objects.count() == 0


def test_a_check_definition_that_makes_no_sense_is_refused(deployed, alice):
    with pytest.raises(integrity.InvalidInput) as exc:
        check(deployed, alice, kind="checksum", relation="within_tolerance", tolerance_percent=1)
    assert exc.value.reasons[0].data["field"] == "relation"
    with pytest.raises(integrity.InvalidInput):
        check(deployed, alice, relation="expected_value")
    check(deployed, alice)
    with pytest.raises(integrity.InvalidInput) as exc:
        check(deployed, alice)
    assert exc.value.reasons[0].data["field"] == "name"
    assert IntegrityCheck.objects.count() == 1


def test_query_text_from_the_job_is_redacted(deployed, alice, bob):
    c = check(deployed, alice)

    result = integrity.post_result(
        c, bob, before_value="1", after_value="1", query_result="ran as password=hunter2"
    )

    assert "hunter2" not in result.query_result


def test_the_pipeline_posts_results_and_the_auditor_does_not(deployed, alice, pipeline, audrey):
    c = check(deployed, alice)

    integrity.post_result(c, pipeline, before_value="1", after_value="1")
    with pytest.raises(NotPermitted):
        integrity.post_result(c, audrey, before_value="1", after_value="1")


# --- closing the release -------------------------------------------------------------------


def test_a_release_without_checks_closes(deployed, alice):
    assert lifecycle.transition(deployed, "close", alice).state == "closed"


def test_a_check_without_a_result_blocks_closing(deployed, alice):
    check(deployed, alice)

    with pytest.raises(IllegalTransition) as exc:
        lifecycle.transition(deployed, "close", alice)

    assert "'payouts row count'" in exc.value.message
    deployed.refresh_from_db()
    assert deployed.state == "deployed"


def test_a_failed_latest_result_blocks_closing(deployed, alice, bob):
    c = check(deployed, alice)
    integrity.post_result(c, bob, before_value="10", after_value="10")
    integrity.post_result(c, bob, before_value="10", after_value="9")

    with pytest.raises(IllegalTransition) as exc:
        lifecycle.transition(deployed, "close", alice)

    assert exc.value.reasons[0].code == "data_integrity"


def test_a_passing_latest_result_lets_the_release_close(deployed, alice, bob):
    c = check(deployed, alice)
    integrity.post_result(c, bob, before_value="10", after_value="9")
    integrity.post_result(c, bob, before_value="10", after_value="10")

    assert lifecycle.transition(deployed, "close", alice).state == "closed"


def test_a_closed_releases_checks_no_longer_change(deployed, alice, bob):
    c = check(deployed, alice)
    integrity.post_result(c, bob, before_value="10", after_value="10")
    lifecycle.transition(deployed, "close", alice)

    with pytest.raises(IllegalTransition):
        integrity.post_result(c, bob, before_value="10", after_value="11")


# --- releases that change batch jobs ----------------------------------------------------------


def test_a_release_changing_a_batch_job_without_checks_is_flagged(draft_release, alice):
    ScopeItemFactory(release=draft_release, title="Nightly payouts export", kind="batch_job")

    warning = integrity.missing_checks_warning(draft_release)

    assert warning is not None and "Nightly payouts export" in warning.message
    check(draft_release, alice)
    assert integrity.missing_checks_warning(draft_release) is None


def test_a_release_without_batch_jobs_is_not_flagged(draft_release):
    ScopeItemFactory(release=draft_release, title="New button", kind="feature")

    assert integrity.missing_checks_warning(draft_release) is None
