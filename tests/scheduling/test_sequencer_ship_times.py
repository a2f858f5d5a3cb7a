"""The sequencing page says one thing about when a release ships, and its windows stay legible."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from django.urls import reverse

from scheduling import sequencer
from scheduling.models import Environment, ValidationNeed
from scheduling.views_reservations import gantt
from tests.factories import EnvironmentFactory, ReleaseFactory

H = timedelta(hours=1)
QUARTER = "2031-Q2"
Q_START = datetime(2031, 4, 1, tzinfo=UTC)


@pytest.fixture
def staging(db):
    return EnvironmentFactory(slug="staging", name="Staging", order=2, capacity=1)


def needing(author, name, hours, env, **fields):
    release = ReleaseFactory(
        author=author, name=name, planned_start=None, planned_end=None, **fields
    )
    ValidationNeed.objects.create(release=release, environment=env, hours=hours)
    return release


def deadline_reasons(item):
    return [r for r in item.reasons if r.code in ("deadline", "compliance_deadline")]


def test_the_deadline_reasons_name_the_same_deployment_start_and_end_as_the_plan(dave, staging):
    first = needing(dave, "First", 48, staging, compliance_deadline=Q_START + 60 * H)
    late = needing(dave, "Late", 48, staging, deadline=Q_START + 60 * H)

    result = sequencer.plan([first, late], Environment.objects.all(), Q_START)

    for key, missed in ((first.key, False), (late.key, True)):
        item = result.get(key)
        assert item.ship_end - item.ship_start == sequencer.DEFAULT_SHIP
        ships = f"{item.ship_start:%Y-%m-%d %H:%M} UTC → {item.ship_end:%Y-%m-%d %H:%M} UTC"
        assert item.ships == ships
        reasons = deadline_reasons(item)
        assert reasons and all(r.passed is not missed for r in reasons)
        for reason in reasons:
            assert f"production deployment {ships}".lower() in reason.message.lower()
            assert reason.data["ship_start"] == item.ship_start.isoformat()
            assert reason.data["ship_end"] == item.ship_end.isoformat()


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_the_ships_columns_and_the_reason_text_agree_on_the_page(
    client, settings, audrey, dave, staging, zone
):
    settings.TIME_ZONE = zone
    needing(dave, "First", 48, staging, deadline=Q_START + 60 * H)
    late = needing(dave, "Late", 48, staging, deadline=Q_START + 60 * H)
    client.force_login(audrey)

    page = unescape(client.get(reverse("sequencing") + f"?quarter={QUARTER}").content.decode())

    abbreviation = "UTC" if zone == "UTC" else "CEST"  # April in Paris
    missed = page.split('data-testid="missed-deadlines"')[1].split("</table>")[0]
    row = missed.split(f">{late.key}</a>")[1].split("</tr>")[0]
    column = re.search(r'data-testid="ships">([^<]*)<', row).group(1)
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d {abbreviation} → \d{{4}}-\d\d-\d\d \d\d:\d\d {abbreviation}",
        column,
    )
    assert f"production deployment {column} ends after it" in row
    plan_table = page.split('data-testid="plan-table"')[1].split("</table>")[0]
    plan_row = plan_table.split(f">{late.key}</a>")[1].split("</tr>")[0]
    assert f'data-testid="ships">{column}<' in plan_row
    assert "Ships <span" in plan_table and "production deployment start → end" in plan_table


def window(name, start, hours, environments=("Production",), scoped=False):
    return {
        "name": name,
        "start": start,
        "end": start + hours * H,
        "environments": list(environments),
        "scoped": scoped,
    }


def test_window_names_near_the_right_edge_are_on_separate_lines_inside_the_chart():
    start = datetime(2031, 1, 1, tzinfo=UTC)
    edge = start + 6 * 24 * H
    result = sequencer.Plan(start=start, environments=[])
    result.windows = [
        window("Year-end holiday freeze", edge - 48 * H, 48),
        window("Payments blackout for the card network migration", edge - 20 * H, 12),
        window("Database maintenance", edge - 10 * H, 6),
        window("Month-end close", edge - 30 * H, 4, scoped=True),
        window("Month-end close", edge - 20 * H, 4, scoped=True),
        window("Month-end close", edge - 4 * H, 4, scoped=True),
        window("A" * 80, start + 24 * H, 2),
    ]

    chart = gantt(result)

    labelled = [b for b in chart["bands"] if b["label"]]
    assert len(chart["bands"]) == 7 and len(labelled) == 5  # a repeated window is named once
    assert "❄ Month-end close (Production, some services) ×3" in [b["label"] for b in labelled]
    long = next(b for b in labelled if b["title"].startswith("A" * 80))
    assert long["label"].endswith("…") and len(long["label"]) <= 48
    for band in labelled:
        width = len(band["label"]) * 6.2
        assert (
            chart["label_w"] <= band["label_x"] and band["label_x"] + width <= chart["chart_right"]
        )
        assert band["label_y"] <= chart["height"] - 4
        for other in labelled:
            if other is band or other["label_y"] != band["label_y"]:
                continue
            other_end = other["label_x"] + len(other["label"]) * 6.2
            assert band["label_x"] + width <= other["label_x"] or other_end <= band["label_x"]
    assert len({b["label_y"] for b in labelled}) >= 3
