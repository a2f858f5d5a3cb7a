"""Decision-log pages: the list (filters, pagination, bounded queries), one entry, the chain
verification and the export, read-only for every role."""

import csv
import io
import json

import pytest
from django.db import connection
from django.urls import reverse

from governance import decision_log
from governance.choices import DecisionKind
from governance.models import DecisionRecord

pytestmark = pytest.mark.django_db

LIST = reverse("decision_record_list")
VERIFY = reverse("decision_record_verify")
EXPORT = reverse("decision_record_export")


def _log(n, actor=None, release="REL-2026-0001", kind=DecisionKind.APPROVAL, outcome="approved"):
    return [
        decision_log.append(kind, outcome, f"Decision {i}", actor=actor, release=release)
        for i in range(n)
    ]


@pytest.mark.parametrize("persona", ["alice", "carol", "dave", "audrey", "olivia", "bob"])
def test_every_role_can_read_the_log_pages(client, request, persona):
    (entry,) = _log(1)
    client.force_login(request.getfixturevalue(persona))

    for url in (LIST, entry.get_absolute_url(), VERIFY, EXPORT):
        assert client.get(url).status_code == 200, url


def test_anonymous_visitors_go_to_login_and_no_role_gets_403(client, nobody):
    assert client.get(LIST).status_code == 302
    client.force_login(nobody)
    assert client.get(LIST).status_code == 403
    assert client.get(VERIFY).status_code == 403


def test_the_list_filters_by_kind_outcome_release_and_actor(client, audrey, carol):
    _log(2, actor=carol)
    _log(1, release="REL-2026-0002", kind=DecisionKind.GATE, outcome="prevented")
    client.force_login(audrey)

    by_kind = client.get(LIST, {"kind": "gate"})
    by_actor = client.get(LIST, {"actor": "carol"})
    by_release = client.get(LIST, {"release": "REL-2026-0002", "outcome": "prevented"})

    assert [e.sequence for e in by_kind.context["page"]] == [3]
    assert [e.sequence for e in by_actor.context["page"]] == [2, 1]
    assert [e.sequence for e in by_release.context["page"]] == [3]


def test_a_bad_date_filter_is_reported(client, audrey):
    client.force_login(audrey)

    response = client.get(LIST, {"since": "yesterday"})

    assert response.status_code == 200
    assert "since" in response.context["filter_errors"]


def test_an_empty_log_says_so(client, audrey):
    client.force_login(audrey)

    assert "No decisions recorded yet." in client.get(LIST).content.decode()


@pytest.mark.parametrize("size", [5, 60])
def test_the_list_runs_a_bounded_number_of_queries(
    client, audrey, carol, size, django_assert_max_num_queries
):
    _log(size, actor=carol)
    client.force_login(audrey)

    with django_assert_max_num_queries(12):
        response = client.get(LIST)

    assert response.status_code == 200
    assert len(response.context["page"]) == min(size, 50)


def test_an_entry_shows_its_fields_reasons_hashes_and_links(
    client, audrey, approved_release, carol
):
    entry = decision_log.append(
        DecisionKind.APPROVAL,
        "approved",
        "carol approved it.",
        actor=carol,
        release=approved_release,
        subject=f"release:{approved_release.pk}",
        reasons=[{"code": "approver_role", "passed": True, "message": "carol acts as cab_member."}],
        data={"round": 1},
    )
    client.force_login(audrey)

    page = client.get(entry.get_absolute_url()).content.decode()

    assert entry.entry_hash in page and entry.previous_hash in page
    assert "carol acts as cab_member." in page
    assert approved_release.get_absolute_url() in page
    assert "&quot;round&quot;: 1" in page
    assert "The content matches this entry's hash." in page


def test_an_unknown_entry_is_404(client, audrey):
    client.force_login(audrey)

    assert client.get(reverse("decision_record_detail", args=[999])).status_code == 404


def test_the_verification_page_says_intact(client, audrey):
    _log(3)
    client.force_login(audrey)

    page = client.get(VERIFY).content.decode()

    assert "Intact." in page and "3 entries verified" in page


def test_the_verification_page_says_where_it_breaks_with_links(client, audrey):
    _log(4)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {DecisionRecord._meta.db_table} SET summary = 'forged' WHERE sequence = 3"
        )
    client.force_login(audrey)

    response = client.get(VERIFY)
    page = response.content.decode()

    assert "Broken" in page and "at entry #3" in page
    assert f'href="{reverse("decision_record_detail", args=[3])}"' in page
    detail = client.get(reverse("decision_record_detail", args=[3])).content.decode()
    assert "does <strong>not</strong> match" in detail


def test_the_export_gives_csv_of_the_filtered_range_oldest_first(client, audrey, carol):
    _log(3, actor=carol)
    _log(1, kind=DecisionKind.GATE, outcome="allowed")
    client.force_login(audrey)

    response = client.get(EXPORT, {"kind": "approval", "format": "csv"})

    assert response["Content-Disposition"].startswith('attachment; filename="decision-log-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["sequence"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["actor_name"] == "carol" and len(rows[0]["entry_hash"]) == 64


def test_the_export_gives_json_lines_that_verify_against_their_hashes(client, audrey):
    _log(2)
    client.force_login(audrey)

    response = client.get(EXPORT, {"format": "jsonl"})

    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert [line["sequence"] for line in lines] == [1, 2]
    assert lines[1]["previous_hash"] == lines[0]["entry_hash"]
    stored = DecisionRecord.objects.get(sequence=1)
    assert lines[0]["recorded_at"] == decision_log.content_of(stored)["recorded_at"]


def test_the_export_refuses_bad_filters(client, audrey):
    client.force_login(audrey)

    response = client.get(EXPORT, {"until": "soon"})

    assert response.status_code == 400
    assert "until" in response.content.decode()
