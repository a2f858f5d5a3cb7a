"""Window pages: hardness of maintenance windows, occurrence headings, plain-language rules,
and ISO dates that wrap in the history table."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling.forms import FreezeWindowForm, describe_rrule
from scheduling.models import FreezeWindow
from tests.scheduling.calendar_support import local, window
from tests.scheduling.exceptions_support import ask
from tests.scheduling.exceptions_support import window as freeze_now


def occurrence_headings(html: str) -> list[str]:
    table = html[html.index('data-testid="occurrences"') :].split("</thead>")[0]
    return [cell.split("</th>")[0] for cell in table.split("<th>")[1:]]


def test_the_window_form_says_hardness_only_matters_for_blocking_and_release_windows(db):
    help_text = FreezeWindowForm().fields["hardness"].help_text
    assert "Only for freeze, blackout and release windows" in help_text


def test_a_hard_maintenance_window_shows_no_contradictory_hardness(client, alice, audrey, db):
    client.force_login(alice)
    response = client.post(
        reverse("freeze_create"),
        {
            "name": "Sunday patching",
            "kind": "maintenance",
            "hardness": "hard",
            "timezone": "UTC",
            "start": "2027-03-07T02:00",
            "end": "2027-03-07T04:00",
            "rrule": "FREQ=WEEKLY;BYDAY=SU",
            "reason": "OS patches",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = FreezeWindow.objects.get(name="Sunday patching")
    client.force_login(audrey)
    html = client.get(created.get_absolute_url()).content.decode()
    assert "informational; deployments are not blocked" in html
    assert "hard (deny)" not in html.lower()
    facts = html[html.index('data-testid="freeze-facts"') :].split("</dl>")[0]
    assert '<dd class="col-sm-8">Maintenance</dd>' in facts
    assert ">hard</span>" not in html
    listing = client.get(reverse("freeze_list")).content.decode()
    assert "Sunday patching" in listing and ">hard</span>" not in listing


def test_a_hard_freeze_still_shows_its_hardness(client, audrey, db):
    created = window("Quarter-end freeze", local(2027, 3, 29), local(2027, 4, 1), hardness="hard")
    client.force_login(audrey)
    html = client.get(created.get_absolute_url()).content.decode()
    assert "Freeze, hard (deny)" in html and ">hard</span>" in html


def test_a_utc_window_lists_its_occurrences_under_one_utc_heading(client, audrey, db):
    created = window(
        "Saturday batch",
        local(2027, 3, 6, 1),
        local(2027, 3, 6, 3),
        timezone="UTC",
        rrule="FREQ=WEEKLY;BYDAY=SA",
        kind="maintenance",
    )
    client.force_login(audrey)
    html = client.get(created.get_absolute_url()).content.decode()
    assert occurrence_headings(html) == ["UTC", ""]
    rows = html[html.index('data-testid="occurrences"') :].split("</table>")[0].split("<tr")[2:]
    assert rows[0].count("<td") == 2


def test_a_zoned_window_heads_its_columns_local_and_utc(client, audrey, db):
    created = window(
        "Berlin release hours",
        local(2027, 3, 25, 9, zone="Europe/Berlin"),
        local(2027, 3, 25, 17, zone="Europe/Berlin"),
        timezone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        kind="release_window",
    )
    client.force_login(audrey)
    html = client.get(created.get_absolute_url()).content.decode()
    assert occurrence_headings(html) == ["Local (Europe/Berlin)", "UTC", ""]


def test_repeats_shows_the_rule_in_plain_words_and_the_raw_rule_once(client, audrey, db):
    rule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH"
    created = window("Fortnightly", local(2027, 3, 2, 9), local(2027, 3, 2, 10), rrule=rule)
    client.force_login(audrey)
    html = client.get(created.get_absolute_url()).content.decode()
    repeats = html[html.index('data-testid="freeze-repeats"') :].split("</dd>")[0]
    assert "Every 2 weeks on Tuesday and Thursday" in repeats
    assert repeats.count(rule) == 1
    assert '<code class="text-break">' in repeats
    listing = client.get(reverse("freeze_list")).content.decode()
    assert "Every 2 weeks on Tuesday and Thursday" in listing


def test_a_rule_without_a_plain_description_is_shown_only_once(client, audrey, db):
    rule = "FREQ=MONTHLY;BYDAY=1MO"
    created = window("First Monday", local(2027, 3, 1, 9), local(2027, 3, 1, 10), rrule=rule)
    client.force_login(audrey)
    html = client.get(created.get_absolute_url()).content.decode()
    repeats = html[html.index('data-testid="freeze-repeats"') :].split("</dd>")[0]
    assert repeats.count(rule) == 1


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=WEEKLY;BYDAY=SU", "Every Sunday"),
        ("FREQ=WEEKLY;BYDAY=SA", "Every Saturday"),
        ("RRULE:freq=weekly;byday=mo,tu,we,th,fr", "Every weekday (Mon–Fri)"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15,-1", "Every month on the 1st, 15th and last day"),
        ("FREQ=DAILY;INTERVAL=3;COUNT=5", "Every 3 days, 5 times"),
        ("FREQ=YEARLY", "Every year"),
        ("FREQ=MONTHLY;BYDAY=1MO", "FREQ=MONTHLY;BYDAY=1MO"),
        ("FREQ=HOURLY", "FREQ=HOURLY"),
    ],
)
def test_common_rules_are_described_in_plain_words(rule, words):
    assert describe_rrule(rule) == words


def test_exception_history_shows_changed_datetimes_in_iso_and_wraps(
    client, draft_release, payments, dave, carol
):
    freeze = freeze_now("Quarter-end freeze")
    exception = ask(draft_release, freeze, dave)
    old_until = exception.valid_until
    new_until = old_until + timedelta(hours=2)
    exception.valid_until = new_until
    exception._change_reason = "extended"
    exception.save()
    client.force_login(carol)
    html = client.get(reverse("exception_detail", args=[exception.pk])).content.decode()
    history = html[html.index('data-testid="history"') :].split("</table>")[0]
    old_text = timezone.localtime(old_until).strftime("%Y-%m-%d %H:%M")
    new_text = timezone.localtime(new_until).strftime("%Y-%m-%d %H:%M")
    assert f"{old_text} → {new_text}" in history
    assert "p.m." not in history and "a.m." not in history
    assert 'class="history-changes text-break"' in history
