"""The release page's API compatibility, hotfix carry-forward and integration panels."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from releases import integration
from releases.models import ApiChange, ApiConsumer, ApiVersion
from tests.conftest import make_user
from tests.factories import ReleaseFactory, ServiceFactory, TeamFactory


@pytest.fixture
def page_data(draft_release, dave, payments):
    storefront = TeamFactory(slug="storefront", name="Storefront")
    checkout = ServiceFactory(slug="checkout-service", team=storefront)
    v1 = ApiVersion.objects.create(service=payments, name="payments v1", version="1.0.0")
    ApiConsumer.objects.create(api_version=v1, consumer_service=checkout)
    ApiConsumer.objects.create(api_version=v1, external_client="Acme POS")
    ApiChange.objects.create(release=draft_release, api_version=v1, change="removes")
    flow = integration.add_flow(
        draft_release, dave, name="Checkout and pay", services=[payments, checkout]
    )
    sam = make_user("sam", "developer")
    storefront.members.add(sam)
    integration.sign(flow, storefront, sam, "green")
    return {"checkout": checkout, "v1": v1}


def test_release_page_shows_the_api_flag_and_the_sign_off_status(
    client, alice, draft_release, page_data
):
    client.force_login(alice)
    html = client.get(draft_release.get_absolute_url()).content.decode()
    assert 'data-testid="api-compat-panel"' in html
    assert "breaks consumers" in html and "external client Acme POS" in html
    assert 'data-testid="integration-panel"' in html
    assert "Checkout and pay" in html and "sam" in html
    assert "Not complete." in html


def test_a_hotfix_page_lists_the_releases_that_must_carry_it(
    client, alice, dave, payments, draft_release
):
    hotfix = ReleaseFactory(
        author=dave,
        kind="hotfix",
        version="1.4.3",
        services=[(payments, "1.4.3")],
        planned_start=draft_release.planned_start.replace(
            year=draft_release.planned_start.year - 1
        ),
    )
    client.force_login(alice)
    html = client.get(hotfix.get_absolute_url()).content.decode()
    assert draft_release.key in html and "not yet" in html
    assert "no successful production deployment" in html


def test_panels_add_a_constant_number_of_queries(
    client, alice, dave, draft_release, payments, page_data
):
    client.force_login(alice)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(draft_release.get_absolute_url()).status_code == 200
        return len(ctx)

    def hotfix(n):
        ReleaseFactory(
            author=dave,
            kind="hotfix",
            version=f"1.4.{n + 3}",
            services=[(payments, f"1.4.{n + 3}")],
            planned_start=draft_release.planned_start.replace(year=2000),
        )

    hotfix(0)
    count()  # warm-up: caches (content types, session) filled on the first request
    small = count()
    for n in range(1, 7):
        hotfix(n)
        v = ApiVersion.objects.create(service=payments, name=f"v{n}", version=f"{n + 2}.0.0")
        ApiConsumer.objects.create(api_version=v, external_client=f"C{n}")
        ApiChange.objects.create(release=draft_release, api_version=v, change="breaks")
        integration.add_flow(
            draft_release, dave, name=f"F{n}", services=[payments, page_data["checkout"]]
        )
    assert count() == small
