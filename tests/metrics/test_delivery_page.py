"""The delivery performance page (/metrics/delivery/): figures, drill-down, trend, bad filters,
who may see it, bounded queries."""

import pytest
from django.urls import reverse

from metrics.demo_domains import demo as demo_domains
from tests.factories import ServiceFactory
from tests.metrics.dora_history import SINCE, UNTIL, at, build, record

pytestmark = pytest.mark.django_db
URL = reverse("metrics_delivery")
PERIOD = f"since={SINCE}&until={UNTIL}"


@pytest.fixture
def history(db):
    return build()


def test_page_shows_the_figures_of_the_worked_example(client, audrey, history):
    client.force_login(audrey)
    response = client.get(f"{URL}?{PERIOD}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="dp-frequency">2.5' in html
    assert 'data-testid="dp-lead-time">10.0 h' in html
    assert 'data-testid="dp-cfr">50%' in html
    assert 'data-testid="dp-mttr">4.5 h' in html
    assert 'data-testid="dp-success">40%' in html
    assert "delivery-chart-data" in html
    assert "chart.umd.min.js" in html


def test_the_frequency_card_shows_the_successful_deployments_it_divides(client, dave, history):
    # 8 production deployments in the period, 5 of them successful: 5 ÷ 2 weeks = 2.5
    client.force_login(dave)
    html = client.get(f"{URL}?{PERIOD}").content.decode()
    assert '"dp-frequency-counts">5 successful production deployments ÷ 2 weeks<' in html
    assert "8 production deployments" not in html


def test_the_frequency_is_rounded_to_one_decimal(client, dave, history):
    # one more day: 5 ÷ (15 / 7) = 2.333... per week
    client.force_login(dave)
    html = client.get(f"{URL}?since={SINCE}&until=2026-03-17").content.decode()
    assert 'data-testid="dp-frequency">2.3<' in html
    assert "2.333" not in html
    assert "5 successful production deployments ÷ 2.1 weeks" in html


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        ("lead_time", ["c1", "c6"]),
        ("time_to_restore", ["I1", "I2"]),
        ("releases", ["R1", "R5"]),
        ("mttr", ["101.0"]),
    ],
)
def test_drill_down_lists_the_rows(client, dave, history, detail, expected):
    client.force_login(dave)
    html = client.get(f"{URL}?{PERIOD}&detail={detail}").content.decode()
    assert 'data-testid="delivery-detail"' in html
    for text in expected:
        assert text in html


def test_a_period_without_data_says_so(client, dave, history):
    client.force_login(dave)
    html = client.get(f"{URL}?since=2026-06-01&until=2026-06-08").content.decode()
    assert 'data-testid="delivery-empty"' in html
    assert 'data-testid="dp-lead-time">—' in html


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("since=2026-03-10&until=2026-03-01", "before it starts"),
        ("team=ghosts", "No team"),
        ("detail=vibes", "not one of"),
        ("bucket=decade", "not one of"),
    ],
)
def test_bad_filters_show_the_message_with_400(client, dave, history, query, words):
    client.force_login(dave)
    response = client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert words in response.content.decode()


def test_no_role_is_refused(client, nobody):
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_the_menu_links_the_page(client, dave, history):
    client.force_login(dave)
    assert f'href="{URL}"' in client.get("/").content.decode()


def test_bounded_queries(client, audrey, history, django_assert_max_num_queries):
    client.force_login(audrey)
    with django_assert_max_num_queries(200) as few:
        client.get(f"{URL}?{PERIOD}&detail=deployments")
    for n in range(40):
        record(
            history["pay"],
            history["prod"],
            "failed" if n % 2 else "succeeded",
            at("03-06", f"{n % 24:02d}:{n:02d}"),
            commits=[(f"m{n}", at("03-05"))],
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(f"{URL}?{PERIOD}&detail=deployments")


def test_demo_domains_are_idempotent(history):
    from releases.models import Service

    ServiceFactory(slug="ledger", team=history["pay"].team)
    demo_domains({}, {})
    demo_domains({}, {})
    assert Service.objects.get(slug="ledger").domain == "payments"
    assert Service.objects.get(slug="ledger").history.count() == 2


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_release_success_rate_says_it_counts_releases_not_deployments(client, dave, history):
    client.force_login(dave)
    html = client.get(f"{URL}?{PERIOD}").content.decode()
    assert (
        "2 of 5 releases had no failed or rolled-back deployment and no critical incident." in html
    )
    assert "Counts releases, not deployments; imported history names no release." in html
    assert "How these are counted" in html
    assert "<code>docs/metrics.md</code>" not in html


def test_the_dates_of_the_filter_and_of_the_trend_keep_to_one_line(client, dave, history):
    client.force_login(dave)
    html = client.get(f"{URL}?{PERIOD}").content.decode()
    assert html.count("form-control form-control-sm input-date") == 2  # From and Until
    assert f'<td class="text-nowrap">{SINCE}</td>' in html


def test_the_date_inputs_have_a_width_that_fits_a_date():
    from pathlib import Path

    from django.contrib.staticfiles import finders

    css = Path(finders.find("css/app.css")).read_text(encoding="utf-8")
    assert ".input-date { min-width: 10rem; }" in css
