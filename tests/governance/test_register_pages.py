"""Register pages per role: list (open by default, filters), detail, record, edit, status, export,
the release tab and the service panel."""

import csv
import io
import json

import pytest
from django.urls import reverse

from governance import register
from governance.choices import RegisterStatus
from governance.models import RegisterEntry
from tests.factories import ServiceFactory
from tests.governance.register_support import known_error, risk


@pytest.fixture
def entries(alice, draft_release, payments):
    shipped = known_error(alice, release=draft_release, service=payments)
    other = risk(alice, service=ServiceFactory(slug="ledger", name="Ledger"), title="Ledger risk")
    closed = risk(alice, service=payments, title="Old risk")
    register.change_status(closed, alice, RegisterStatus.CLOSED, "gone")
    return {"shipped": shipped, "other": other, "closed": closed}


def footprint():
    return RegisterEntry.objects.count(), RegisterEntry.history.count()


def test_the_list_shows_open_items_unless_asked_otherwise(client, audrey, entries):
    client.force_login(audrey)

    page = client.get(reverse("register_entry_list")).content.decode()
    everything = client.get(reverse("register_entry_list") + "?open=unknown").content.decode()

    assert entries["shipped"].title in page and "Ledger risk" in page
    assert "Old risk" not in page
    assert "Old risk" in everything


def test_the_list_filters_by_service_kind_and_owner(client, audrey, entries):
    client.force_login(audrey)
    url = reverse("register_entry_list")

    by_service = client.get(url + "?service=ledger").content.decode()
    by_kind = client.get(url + "?kind=known_error").content.decode()
    by_owner = client.get(url + "?owner=nobody-here").content.decode()

    assert "Ledger risk" in by_service and entries["shipped"].title not in by_service
    assert entries["shipped"].title in by_kind and "Ledger risk" not in by_kind
    assert "Select a valid choice" in by_owner


def test_the_list_stays_within_a_fixed_number_of_queries(
    client, audrey, alice, payments, django_assert_max_num_queries
):
    client.force_login(audrey)
    for n in range(3):
        risk(alice, service=payments, title=f"risk {n}")
    with django_assert_max_num_queries(12):
        assert client.get(reverse("register_entry_list")).status_code == 200
    for n in range(30):
        risk(alice, service=payments, title=f"more {n}")
    with django_assert_max_num_queries(12):
        assert client.get(reverse("register_entry_list")).status_code == 200


def test_the_export_is_a_csv_of_open_items_with_the_lists_filters(client, audrey, entries):
    client.force_login(audrey)

    response = client.get(reverse("register_export_csv") + "?service=payments-api")

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["title"] for r in rows] == [entries["shipped"].title]
    as_json = json.loads(client.get(reverse("register_export_json")).content)
    assert {e["title"] for e in as_json["entries"]} == {entries["shipped"].title, "Ledger risk"}


def test_recording_from_the_release_page_is_prefilled(client, dave, draft_release):
    client.force_login(dave)

    tab = client.get(draft_release.get_absolute_url()).content.decode()
    assert f"{reverse('register_entry_create')}?release={draft_release.key}" in tab
    form = client.get(reverse("register_entry_create") + f"?release={draft_release.key}")

    page = form.content.decode()
    assert f'value="{draft_release.key}" selected' in page
    assert 'value="payments-api" selected' in page  # its only service
    response = client.post(
        reverse("register_entry_create"),
        {
            "kind": "known_error",
            "title": "Refunds slow",
            "description": "Batch runs late.",
            "release": draft_release.key,
            "owner": "dave",
        },
    )
    entry = RegisterEntry.objects.get()
    assert response.status_code == 302 and response["Location"] == entry.get_absolute_url()
    tab = client.get(draft_release.get_absolute_url()).content.decode()
    assert "Refunds slow" in tab


def test_a_form_without_release_or_service_shows_why_and_writes_nothing(client, dave):
    client.force_login(dave)

    response = client.post(
        reverse("register_entry_create"),
        {"kind": "risk", "title": "x", "description": "y", "owner": "dave"},
    )

    assert response.status_code == 400
    assert "Link the entry to a release, a service, or both." in response.content.decode()
    assert footprint() == (0, 0)


def test_the_service_page_shows_its_open_items(client, audrey, entries, payments):
    client.force_login(audrey)

    page = client.get(payments.get_absolute_url()).content.decode()

    assert 'data-testid="service-register-panel"' in page
    assert entries["shipped"].title in page
    assert "Old risk" not in page


@pytest.mark.parametrize("persona", ["audrey", "bob", "carol", "paula"])
def test_read_only_roles_cannot_record_edit_or_change_status(client, request, persona, entries):
    client.force_login(request.getfixturevalue(persona))
    entry = entries["shipped"]
    before = footprint()

    assert client.get(reverse("register_entry_detail", args=[entry.pk])).status_code == 200
    assert client.get(reverse("register_entry_create")).status_code == 403
    assert client.post(reverse("register_entry_edit", args=[entry.pk]), {}).status_code == 403
    status_url = reverse("register_entry_status_update", args=[entry.pk])
    assert client.post(status_url, {"status": "closed", "note": "x"}).status_code == 403
    assert footprint() == before


def test_a_developer_cannot_accept_a_risk_from_the_page(client, dave, entries):
    client.force_login(dave)
    entry = entries["shipped"]
    before = footprint()

    response = client.post(
        reverse("register_entry_status_update", args=[entry.pk]),
        {"status": "accepted", "note": "fine"},
    )

    assert response.status_code == 403
    assert "accept residual risk" in response.content.decode()
    assert footprint() == before


def test_a_status_change_without_a_note_is_refused(client, alice, entries):
    client.force_login(alice)
    before = footprint()

    response = client.post(
        reverse("register_entry_status_update", args=[entries["shipped"].pk]),
        {"status": "mitigated", "note": ""},
    )

    assert response.status_code == 400
    assert "Say why the status changes." in response.content.decode()
    assert footprint() == before


def test_mitigating_from_the_page_records_the_note_in_the_history(client, alice, entries):
    client.force_login(alice)
    entry = entries["shipped"]

    response = client.post(
        reverse("register_entry_status_update", args=[entry.pk]),
        {"status": "mitigated", "note": "index added on replica"},
    )

    assert response.status_code == 302
    page = client.get(entry.get_absolute_url()).content.decode()
    assert "mitigated: index added on replica" in page
