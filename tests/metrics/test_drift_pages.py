"""Config drift pages: overview, service, compare, release view, snapshots, reconcile form."""

import pytest
from django.urls import reverse

from metrics import drift
from metrics.models import DriftItem
from releases import packaging

PLANTED = "hunter2-planted-secret"


@pytest.fixture
def world(dave, bob, payments, environments):
    for slug, replicas in (("staging", 2), ("production", 6)):
        packaging.save_config_set(
            dave,
            service=payments,
            environment=environments[slug],
            version="1",
            values={"replicas": replicas, "db_password": f"vault:pay/{slug}"},
        )
    drift.record_snapshot(
        bob, payments, environments["staging"], {"replicas": 2, "db_password": PLANTED}
    )
    drift.record_snapshot(
        bob,
        payments,
        environments["production"],
        {"replicas": 4, "debug": "on", "db_password": "vault:pay/production"},
    )
    return environments


def test_overview_lists_open_drift_per_environment(client, audrey, world):
    client.force_login(audrey)
    page = client.get(reverse("drift_overview")).content.decode()
    assert "2 open" in page and "in line" in page
    assert "replicas" in page and "debug" in page
    assert PLANTED not in page


def test_compare_page_highlights_differences_and_never_shows_secrets(client, audrey, world):
    client.force_login(audrey)
    url = reverse("drift_compare", args=["payments-api"]) + "?left=staging&right=production"
    page = client.get(url).content.decode()
    assert 'data-status="changed"' in page and 'data-status="added"' in page
    assert PLANTED not in page
    bad = client.get(reverse("drift_compare", args=["payments-api"]) + "?left=moon")
    assert bad.status_code == 400 and "No environment" in bad.content.decode()


def test_service_and_release_pages(client, audrey, world, draft_release):
    client.force_login(audrey)
    assert client.get(reverse("drift_service", args=["payments-api"])).status_code == 200
    page = client.get(
        reverse("release_drift", args=[draft_release.key])
        + "?service=payments-api&environment=production"
    ).content.decode()
    assert "Expected" in page and 'data-status="changed"' in page
    release_page = client.get(draft_release.get_absolute_url()).content.decode()
    assert 'data-testid="drift-panel"' in release_page and "Production: 2 open" in release_page


def test_reconcile_from_the_page_with_history(client, alice, world):
    item = DriftItem.objects.get(key="replicas")
    client.force_login(alice)
    url = reverse("drift_item_decide", args=[item.pk])
    bad = client.post(url, {"decision": "accept", "reason": ""})
    assert bad.status_code == 400 and "Say why" in bad.content.decode()
    item.refresh_from_db()
    assert item.status == "open"
    ok = client.post(url, {"decision": "fix", "reason": "scale back up"})
    assert ok.status_code == 302
    item.refresh_from_db()
    assert item.status == "to_fix"
    detail = client.get(item.get_absolute_url()).content.decode()
    assert "to fix: scale back up" in detail
    again = client.post(url, {"decision": "fix", "reason": "twice"})
    assert again.status_code == 409


def test_developers_cannot_reconcile(client, dave, world):
    item = DriftItem.objects.get(key="replicas")
    client.force_login(dave)
    response = client.post(
        reverse("drift_item_decide", args=[item.pk]), {"decision": "fix", "reason": "x"}
    )
    assert response.status_code == 403
    item.refresh_from_db()
    assert item.status == "open"


def test_drift_lists_have_bounded_queries(
    client, audrey, bob, world, payments, django_assert_max_num_queries
):
    client.force_login(audrey)
    urls = [reverse("drift_overview"), reverse("config_snapshot_list")]
    for url in urls:
        with django_assert_max_num_queries(20):
            assert client.get(url).status_code == 200
    for i in range(10):
        drift.record_snapshot(bob, payments, world["test"], {f"k{i}": i, "n": i})
    for url in urls:
        with django_assert_max_num_queries(20):
            assert client.get(url).status_code == 200
    assert client.get(reverse("config_snapshot_list") + "?environment=moon").status_code == 200
