"""Ticket triage pages: list with filters, detail with evidence, override, CSV import, the
release's Stabilisation panel, and ``manage.py import_tickets``."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from metrics.models import SupportTicket
from tests.metrics.tickets_support import imported, row, shipped

PAY_FAIL = "Card payment fails at checkout with error 502 gateway timeout"


def csv_file(*lines, name="tickets.csv"):
    content = "external_id,service,opened_at,subject,text,rating\n" + "\n".join(lines) + "\n"
    return SimpleUploadedFile(name, content.encode(), content_type="text/csv")


def test_the_list_shows_tickets_with_their_classification_and_filters(client, move_to, bob):
    deployment = shipped(move_to)
    when = deployment.finished_at
    imported(
        bob,
        row("HD-1", when - timedelta(days=2), "Refund page shows wrong currency"),
        row("HD-2", when + timedelta(hours=1), PAY_FAIL),
    )
    client.force_login(bob)

    page = client.get(reverse("support_ticket_list")).content.decode()
    filtered = client.get(
        reverse("support_ticket_list"), {"classification": "release_related"}
    ).content.decode()

    assert 'data-ticket="HD-1"' in page and 'data-ticket="HD-2"' in page
    assert "Release-related" in page and "Pre-existing" in page
    assert 'data-ticket="HD-2"' in filtered and 'data-ticket="HD-1"' not in filtered


def test_the_empty_list_says_how_to_get_tickets(client, audrey):
    client.force_login(audrey)

    page = client.get(reverse("support_ticket_list")).content.decode()

    assert "No support tickets yet" in page
    assert "Import tickets" not in page  # the auditor may not import


def test_the_list_page_needs_a_bounded_number_of_queries(
    client, move_to, bob, django_assert_max_num_queries
):
    deployment = shipped(move_to)
    when = deployment.finished_at + timedelta(hours=1)
    imported(bob, row("HD-0", when, PAY_FAIL))
    client.force_login(bob)
    with django_assert_max_num_queries(14):
        client.get(reverse("support_ticket_list"))
    imported(
        bob,
        *[
            row(f"HD-{n}", when + timedelta(minutes=n), f"Different issue {n} text")
            for n in range(1, 30)
        ],
    )
    with django_assert_max_num_queries(14):
        response = client.get(reverse("support_ticket_list"))
    assert response.content.decode().count("data-ticket=") == 25


def test_the_detail_shows_the_evidence_and_the_earlier_tickets(client, move_to, bob, audrey):
    deployment = shipped(move_to)
    _earlier, ticket = imported(
        bob,
        row("HD-1", deployment.finished_at - timedelta(days=1), PAY_FAIL),
        row("HD-2", deployment.finished_at + timedelta(hours=1), PAY_FAIL),
    )
    client.force_login(audrey)

    page = client.get(ticket.get_absolute_url()).content.decode()

    assert 'data-code="recent_deployment"' in page
    assert deployment.release.key in page
    assert 'data-testid="ticket-matches"' in page and "HD-1" in page
    assert 'data-testid="override-panel"' not in page


def test_a_release_manager_overrides_with_a_reason_and_it_shows_in_history(
    client, move_to, bob, alice
):
    deployment = shipped(move_to)
    (ticket,) = imported(bob, row("HD-1", deployment.finished_at + timedelta(hours=1), PAY_FAIL))
    client.force_login(alice)
    url = reverse("support_ticket_override_edit", args=[ticket.pk])

    refused = client.post(url, {"classification": "pre_existing", "reason": ""})
    assert refused.status_code == 400
    assert "Say why the classification is overridden." in refused.content.decode()
    ticket.refresh_from_db()
    assert ticket.classification == "release_related"

    response = client.post(url, {"classification": "pre_existing", "reason": "Bank outage"})
    assert response.status_code == 302
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Overridden by alice: Bank outage" in page
    assert "classification overridden: Bank outage" in page


def test_a_developer_cannot_override(client, move_to, bob, dave):
    deployment = shipped(move_to)
    (ticket,) = imported(bob, row("HD-1", deployment.finished_at + timedelta(hours=1), PAY_FAIL))
    client.force_login(dave)

    response = client.post(
        reverse("support_ticket_override_edit", args=[ticket.pk]),
        {"classification": "pre_existing", "reason": "no"},
    )

    assert response.status_code == 403


def test_a_csv_upload_imports_and_triages_every_row(client, move_to, bob):
    deployment = shipped(move_to)
    when = (deployment.finished_at + timedelta(hours=1)).isoformat()
    client.force_login(bob)

    response = client.post(
        reverse("support_ticket_import_create"),
        {"file": csv_file(f'HD-1,payments-api,{when},"{PAY_FAIL}","Pay shows 502",1')},
    )

    assert response.status_code == 302
    ticket = SupportTicket.objects.get()
    assert ticket.classification == "release_related"
    assert ticket.source == "csv"
    assert ticket.rating == 1


def test_a_csv_with_a_bad_row_or_a_duplicate_is_refused_whole_naming_the_line(client, move_to, bob):
    deployment = shipped(move_to)
    when = (deployment.finished_at + timedelta(hours=1)).isoformat()
    client.force_login(bob)

    response = client.post(
        reverse("support_ticket_import_create"),
        {
            "file": csv_file(
                f"HD-1,payments-api,{when},Pay fails,,",
                f"HD-2,payments-api,{when},Pay fails again,,9",
                f"HD-1,payments-api,{when},Pay fails,,",
            )
        },
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "nothing was imported" in page
    assert "Line 3: rating must be a whole number from 1 to 5" in page
    assert "Line 4: Duplicate ticket HD-1: already in row 1 of this import." in page
    assert SupportTicket.objects.count() == 0


def test_a_csv_without_the_columns_is_refused(client, bob, payments):
    client.force_login(bob)
    bad = SimpleUploadedFile("x.csv", b"id,when\n1,2\n", content_type="text/csv")

    response = client.post(reverse("support_ticket_import_create"), {"file": bad})

    assert response.status_code == 400
    assert "The header lacks external_id, service, opened_at, subject" in response.content.decode()


def test_the_release_stabilisation_panel_lists_its_tickets(client, move_to, bob, audrey):
    deployment = shipped(move_to)
    imported(bob, row("HD-7", deployment.finished_at + timedelta(hours=1), PAY_FAIL))
    client.force_login(audrey)

    page = client.get(deployment.release.get_absolute_url()).content.decode()

    assert 'data-testid="ticket-panel"' in page
    assert 'data-ticket="HD-7"' in page


def test_the_import_command_imports_a_file_and_refuses_a_duplicate(tmp_path, move_to, bob, capsys):
    deployment = shipped(move_to)
    when = (deployment.finished_at + timedelta(hours=1)).isoformat()
    path = tmp_path / "tickets.csv"
    path.write_text(
        "external_id,service,opened_at,subject,text,rating\n"
        f'HD-1,payments-api,{when},"{PAY_FAIL}",,\n'
    )

    call_command("import_tickets", str(path), "--user", "bob")
    assert "Imported 1 tickets: 1 release-related." in capsys.readouterr().out

    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("import_tickets", str(path))
    assert "line 2: Duplicate ticket HD-1: it was already imported" in capsys.readouterr().err
    assert SupportTicket.objects.count() == 1


def test_the_release_panel_counts_every_attributed_ticket_beyond_the_ten_listed(
    client, move_to, bob, audrey
):
    deployment = shipped(move_to)
    when = deployment.finished_at + timedelta(minutes=5)
    subjects = [
        "alpha bravo charlie",
        "delta echo foxtrot",
        "golf hotel india",
        "juliet kilo lima",
        "mike november oscar",
        "papa quebec romeo",
        "sierra tango uniform",
        "victor whiskey xray",
        "yankee zulu one",
        "two three four",
        "five six seven",
        "eight nine zero",
    ]
    imported(bob, *[row(f"HD-{n}", when + timedelta(minutes=n), s) for n, s in enumerate(subjects)])
    client.force_login(audrey)

    page = client.get(deployment.release.get_absolute_url()).content.decode()

    assert "12 release-related, 0 unclear." in page
    assert "Showing 10 of 12." in page
