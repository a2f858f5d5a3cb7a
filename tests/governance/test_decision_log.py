"""The hash-chained decision log: appends chain, verify() finds every kind of tampering done
in the database, and the application itself cannot change or remove an entry."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from governance import decision_log
from governance.choices import DecisionKind
from governance.models import AppendOnlyError, ChainHead, DecisionRecord
from releasemgr.decisions import Reason

pytestmark = pytest.mark.django_db

TABLE = DecisionRecord._meta.db_table


def _entries(n=5, actor=None):
    return [
        decision_log.append(
            DecisionKind.APPROVAL,
            "approved",
            f"Decision {i}: approved «naïve» café ✓",
            actor=actor,
            release="REL-2026-0001",
            subject=f"approval:{i}",
            reasons=[Reason("approver_role", True, "carol acts as cab_member.", {"i": i})],
            data={"z": 1, "a": [1, 2.5, {"b": "ü"}], "when": datetime(2026, 1, 2, 3, 4, 5, 6789)},
        )
        for i in range(1, n + 1)
    ]


def _sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _codes(result):
    return [(p["sequence"], p["code"]) for p in result.problems]


def test_appended_entries_form_an_intact_chain(carol):
    entries = _entries(4, actor=carol)

    result = decision_log.verify()

    assert result.intact and result.entries == 4 and result.problems == []
    assert [e.sequence for e in entries] == [1, 2, 3, 4]
    assert entries[0].previous_hash == decision_log.GENESIS_HASH
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.previous_hash == before.entry_hash
    head = ChainHead.objects.get()
    assert (head.last_sequence, head.last_hash) == (4, entries[-1].entry_hash)
    assert entries[0].actor == carol and entries[0].actor_name == "carol"


def test_the_hash_read_back_from_the_database_matches_the_one_written():
    (written,) = _entries(1)

    stored = DecisionRecord.objects.get(pk=written.pk)

    assert decision_log.compute_hash(stored) == written.entry_hash == stored.entry_hash
    assert stored.data["when"] == "2026-01-02T03:04:05.006789"


def test_values_the_databases_would_change_are_stored_canonically():
    entry = decision_log.append(
        DecisionKind.GATE,
        "x" * 100,
        "nul\x00 and a lone surrogate \ud800",
        release="R" * 50,
        data={"big": 1e16, "half": 0.5, "nan": float("nan"), 3: "int key", "t": (1, 2)},
    )

    stored = DecisionRecord.objects.get(pk=entry.pk)

    assert stored.data == {"big": 10**16, "half": 0.5, "nan": "nan", "3": "int key", "t": [1, 2]}
    assert "\x00" not in stored.summary
    assert len(stored.outcome) == 40 and len(stored.release_key) == 32
    assert decision_log.compute_hash(stored) == stored.entry_hash
    assert decision_log.verify().intact


def test_recorded_time_is_hashed_in_utc_with_microseconds():
    (entry,) = _entries(1)
    stored = DecisionRecord.objects.get(pk=entry.pk)

    content = decision_log.content_of(stored)

    assert content["recorded_at"] == stored.recorded_at.astimezone(UTC).isoformat()
    assert content["recorded_at"].endswith("+00:00")


def test_an_edited_summary_is_detected_at_that_entry():
    _entries(5)
    _sql(f"UPDATE {TABLE} SET summary = %s WHERE sequence = 3", ["Decision 3: rejected"])

    result = decision_log.verify()

    assert not result.intact
    assert _codes(result) == [(3, "altered")]
    assert result.first_break["sequence"] == 3
    assert "edited" in result.first_break["message"]


def test_edited_reasons_are_detected_at_that_entry():
    _entries(5)
    _sql(
        f"UPDATE {TABLE} SET reasons = %s WHERE sequence = 2",
        ['[{"code": "approver_role", "passed": false, "message": "changed", "data": {}}]'],
    )

    assert _codes(decision_log.verify()) == [(2, "altered")]


def test_an_edit_that_also_rewrites_the_entry_hash_breaks_the_next_link():
    entries = _entries(5)
    forged = DecisionRecord.objects.get(sequence=3)
    forged.summary = "forged"
    _sql(
        f"UPDATE {TABLE} SET summary = %s, entry_hash = %s WHERE sequence = 3",
        ["forged", decision_log.compute_hash(forged)],
    )

    result = decision_log.verify()

    assert _codes(result) == [(4, "broken_link")]
    assert entries[3].previous_hash == entries[2].entry_hash


def test_a_deleted_entry_is_detected_where_the_gap_is():
    _entries(5)
    _sql(f"DELETE FROM {TABLE} WHERE sequence = 3")

    result = decision_log.verify()

    assert result.entries == 4
    assert _codes(result) == [(4, "missing"), (4, "broken_link")]
    assert "#3–#3 are missing" in result.first_break["message"]


def test_a_reordered_entry_is_detected():
    _entries(5)
    # Swap #2 and #3 through a free number (the column is unique).
    _sql(f"UPDATE {TABLE} SET sequence = 1000 WHERE sequence = 2")
    _sql(f"UPDATE {TABLE} SET sequence = 2 WHERE sequence = 3")
    _sql(f"UPDATE {TABLE} SET sequence = 3 WHERE sequence = 1000")

    result = decision_log.verify()

    assert not result.intact
    assert result.first_break["sequence"] == 2
    assert {code for _seq, code in _codes(result)} == {"broken_link", "altered"}


def test_a_truncated_tail_is_detected():
    _entries(5)
    _sql(f"DELETE FROM {TABLE} WHERE sequence >= 4")

    result = decision_log.verify()

    assert _codes(result) == [(5, "truncated")]
    assert "should end at entry #5, but ends at #3" in result.first_break["message"]


def test_a_removed_head_is_reported_and_appending_continues_the_chain():
    _entries(3)
    _sql(f"DELETE FROM {ChainHead._meta.db_table}")

    assert _codes(decision_log.verify()) == [(3, "head_missing")]

    entry = decision_log.append(DecisionKind.GATE, "allowed", "Next one.")
    assert entry.sequence == 4
    assert decision_log.verify().intact


def test_an_empty_log_is_intact():
    result = decision_log.verify()

    assert result.intact and result.entries == 0
    assert result.as_dict()["first_break"] is None


def test_the_application_cannot_edit_an_entry():
    (entry,) = _entries(1)
    entry.summary = "changed"

    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        DecisionRecord.objects.filter(pk=entry.pk).update(summary="changed")
    with pytest.raises(AppendOnlyError):
        DecisionRecord.objects.bulk_update([entry], ["summary"])
    assert DecisionRecord.objects.get().summary != "changed"


def test_the_application_cannot_delete_an_entry():
    (entry,) = _entries(1)

    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        DecisionRecord.objects.all().delete()
    assert DecisionRecord.objects.count() == 1


def test_entries_cannot_be_written_around_append():
    with pytest.raises(AppendOnlyError):
        DecisionRecord.objects.create(kind=DecisionKind.GATE, outcome="allowed", summary="x")
    with pytest.raises(AppendOnlyError):
        DecisionRecord.objects.bulk_create([DecisionRecord(sequence=1, entry_hash="f" * 64)])
    assert DecisionRecord.objects.count() == 0


def test_the_subject_names_the_record_decided_on(carol, draft_release):
    entry = decision_log.append(
        DecisionKind.APPROVAL, "approved", "x", subject=f"release:{draft_release.pk}"
    )
    nothing = decision_log.append(DecisionKind.APPROVAL, "approved", "x", subject="nothing:1")
    bad = decision_log.append(DecisionKind.APPROVAL, "approved", "x", subject="release:abc")

    assert entry.subject_object() == draft_release
    assert nothing.subject_object() is None
    assert bad.subject_object() is None
