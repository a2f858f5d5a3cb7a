"""``/api/v1/register/``: CRUD with filters, status changes, the export."""

import csv
import io

import pytest

from governance.choices import RegisterStatus
from governance.models import DecisionRecord, RegisterEntry
from tests.governance.register_support import known_error, risk


def footprint():
    return RegisterEntry.objects.count(), RegisterEntry.history.count()


def test_a_developer_records_an_entry_and_owns_it(api_client, dave, draft_release):
    response = api_client(dave).post(
        "/api/v1/register/",
        {
            "kind": "known_error",
            "title": "Refunds slow",
            "description": "Batch runs late.",
            "workaround": "Run it twice.",
            "release": draft_release.key,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner"] == "dave" and body["status"] == "open"
    assert body["release"] == draft_release.key


def test_bad_input_answers_400_with_field_errors_and_writes_nothing(api_client, dave):
    client = api_client(dave)

    no_link = client.post(
        "/api/v1/register/",
        {"kind": "risk", "title": "x", "description": "y"},
        format="json",
    )
    bad_kind = client.post(
        "/api/v1/register/",
        {"kind": "rumour", "title": "x", "description": "y", "service": "nope"},
        format="json",
    )

    assert no_link.status_code == 400
    assert "release, a service, or both" in str(no_link.json())
    assert bad_kind.status_code == 400
    assert {"kind", "service"} <= set(bad_kind.json())
    assert footprint() == (0, 0)


def test_the_status_is_read_only_in_the_body(api_client, alice, payments):
    entry = risk(alice, service=payments)

    response = api_client(alice).patch(
        f"/api/v1/register/{entry.pk}/", {"status": "closed", "title": "Renamed"}, format="json"
    )

    assert response.status_code == 200
    entry.refresh_from_db()
    assert (entry.status, entry.title) == (RegisterStatus.OPEN, "Renamed")


def test_accepting_needs_a_compliance_officer_and_is_logged(api_client, dave, olivia, payments):
    entry = risk(dave, service=payments)
    url = f"/api/v1/register/{entry.pk}/status/"

    refused = api_client(dave).post(url, {"status": "accepted", "note": "ok"}, format="json")
    accepted = api_client(olivia).post(url, {"status": "accepted", "note": "RB-17"}, format="json")

    assert refused.status_code == 403
    assert any(c["code"] == "accept_residual_risk" for c in refused.json()["checks"])
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert DecisionRecord.objects.get().actor == olivia


def test_a_closed_entry_answers_409(api_client, alice, payments):
    entry = risk(alice, service=payments)
    client = api_client(alice)
    url = f"/api/v1/register/{entry.pk}/status/"
    assert client.post(url, {"status": "closed", "note": "done"}, format="json").status_code == 200

    again = client.post(url, {"status": "open", "note": "back"}, format="json")

    assert again.status_code == 409


def test_a_note_is_required(api_client, alice, payments):
    entry = risk(alice, service=payments)

    response = api_client(alice).post(
        f"/api/v1/register/{entry.pk}/status/", {"status": "mitigated"}, format="json"
    )

    assert response.status_code == 400
    assert "note" in response.json()


@pytest.mark.parametrize("persona", ["bob", "carol", "paula", "audrey", "pipeline"])
def test_other_roles_read_but_do_not_write(api_client, request, persona, alice, payments):
    entry = risk(alice, service=payments)
    client = api_client(request.getfixturevalue(persona))
    before = footprint()

    assert client.get("/api/v1/register/").status_code == 200
    assert client.post("/api/v1/register/", {}, format="json").status_code == 403
    status = client.post(
        f"/api/v1/register/{entry.pk}/status/", {"status": "closed", "note": "x"}, format="json"
    )
    assert status.status_code == 403
    assert footprint() == before


def test_the_list_filters_like_the_page(api_client, audrey, alice, draft_release, payments):
    shipped = known_error(alice, release=draft_release)
    closed = risk(alice, service=payments, title="Old")
    from governance import register

    register.change_status(closed, alice, RegisterStatus.CLOSED, "gone")
    client = api_client(audrey)

    open_only = client.get("/api/v1/register/?open=true").json()["results"]
    by_release = client.get(f"/api/v1/register/?release={draft_release.key}").json()["results"]

    assert [e["id"] for e in open_only] == [shipped.pk]
    assert [e["id"] for e in by_release] == [shipped.pk]


def test_the_export_is_csv_by_default_and_json_on_request(api_client, audrey, alice, payments):
    entry = known_error(alice, service=payments)
    client = api_client(audrey)

    as_csv = client.get("/api/v1/register/export/?format=csv")
    default = client.get("/api/v1/register/export/")
    as_json = client.get("/api/v1/register/export/?format=json")

    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert [(r["id"], r["workaround"]) for r in rows] == [(str(entry.pk), entry.workaround)]
    assert default.content == as_csv.content
    assert [e["id"] for e in as_json.json()] == [entry.pk]
    assert client.get("/api/v1/register/export/?kind=rumour").status_code == 400
    unknown = client.get("/api/v1/register/export/?format=xlsx")
    assert unknown.status_code == 400 and "csv or json" in unknown.json()["format"]


def test_the_list_endpoint_stays_within_a_fixed_number_of_queries(
    api_client, audrey, alice, payments, django_assert_max_num_queries
):
    client = api_client(audrey)
    for n in range(3):
        risk(alice, service=payments, title=f"r{n}")
    with django_assert_max_num_queries(10):
        assert client.get("/api/v1/register/").status_code == 200
    for n in range(30):
        risk(alice, service=payments, title=f"s{n}")
    with django_assert_max_num_queries(10):
        assert client.get("/api/v1/register/").status_code == 200
