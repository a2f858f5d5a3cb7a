"""``/api/v1/decision-log/``: read-only list with filters, one entry by sequence, verification."""

import pytest
from django.db import connection

from governance import decision_log
from governance.choices import DecisionKind
from governance.models import DecisionRecord

pytestmark = pytest.mark.django_db

URL = "/api/v1/decision-log/"


def _log(n, actor=None, kind=DecisionKind.APPROVAL):
    return [
        decision_log.append(kind, "approved", f"Decision {i}", actor=actor, release="REL-2026-0001")
        for i in range(n)
    ]


@pytest.mark.parametrize("persona", ["alice", "carol", "audrey", "pipeline", "paula"])
def test_every_role_reads_the_log_newest_first(api_client, request, persona):
    _log(3)

    body = api_client(request.getfixturevalue(persona)).get(URL).json()

    assert [e["sequence"] for e in body["results"]] == [3, 2, 1]
    assert set(body["results"][0]) >= {"kind", "outcome", "reasons", "previous_hash", "entry_hash"}


def test_no_token_is_401_and_no_role_is_403(api_client, nobody):
    assert api_client().get(URL).status_code == 401
    assert api_client(nobody).get(URL).status_code == 403
    assert api_client(nobody).get(URL + "verify/").status_code == 403


def test_filters_by_kind_actor_and_time(api_client, audrey, carol):
    (first,) = _log(1, actor=carol)
    _log(2, kind=DecisionKind.GATE)
    client = api_client(audrey)

    assert [e["sequence"] for e in client.get(URL, {"kind": "gate"}).json()["results"]] == [3, 2]
    assert [e["sequence"] for e in client.get(URL, {"actor": "carol"}).json()["results"]] == [1]
    later = client.get(URL, {"since": first.recorded_at.isoformat().replace("+00:00", "Z")})
    assert len(later.json()["results"]) == 3
    assert client.get(URL, {"since": "not a date"}).status_code == 400


def test_one_entry_by_sequence(api_client, audrey):
    _log(2)

    body = api_client(audrey).get(f"{URL}2/").json()

    assert body["sequence"] == 2
    assert body["previous_hash"] == DecisionRecord.objects.get(sequence=1).entry_hash
    assert api_client(audrey).get(f"{URL}99/").status_code == 404


def test_the_log_cannot_be_written_through_the_api(api_client, alice, audrey):
    (entry,) = _log(1)

    for client in (api_client(alice), api_client(audrey)):
        assert client.post(URL, {"kind": "gate"}).status_code in (403, 405)
        assert client.delete(f"{URL}1/").status_code in (403, 405)
        assert client.patch(f"{URL}1/", {"summary": "x"}).status_code in (403, 405)
    assert DecisionRecord.objects.get().summary == entry.summary


def test_verify_answers_intact_or_where_it_breaks(api_client, audrey):
    _log(3)
    client = api_client(audrey)

    assert client.get(URL + "verify/").json()["intact"] is True
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DecisionRecord._meta.db_table} WHERE sequence = 2")
    body = client.get(URL + "verify/").json()

    assert body["intact"] is False and body["entries"] == 2
    assert body["first_break"]["sequence"] == 3 and body["first_break"]["code"] == "missing"


@pytest.mark.parametrize("size", [3, 40])
def test_the_list_runs_a_bounded_number_of_queries(
    api_client, audrey, size, django_assert_max_num_queries
):
    _log(size)
    client = api_client(audrey)

    with django_assert_max_num_queries(8):
        assert client.get(URL).status_code == 200
