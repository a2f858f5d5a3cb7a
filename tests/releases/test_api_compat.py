"""API versions, their consumers, and releases that break them (issue 5, item 8)."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from releases import api_compat
from releases.models import ApiChange, ApiConsumer, ApiVersion
from tests.factories import ReleaseFactory, ServiceFactory, TeamFactory


@pytest.fixture
def graph(payments, dave):
    """payments-api v1 (deprecated) used by checkout-service (Storefront) and Acme POS;
    v2 used by nobody yet; a draft that removes v1 and adds to v2."""
    storefront = TeamFactory(slug="storefront", name="Storefront")
    checkout = ServiceFactory(slug="checkout-service", name="Checkout", team=storefront)
    v1 = ApiVersion.objects.create(
        service=payments,
        name="payments v1",
        version="1.8.0",
        status="deprecated",
        deprecated_on=date.today() - timedelta(days=30),
        sunset_on=date.today() + timedelta(days=60),
    )
    v2 = ApiVersion.objects.create(service=payments, name="payments v2", version="2.0.0")
    ApiConsumer.objects.create(api_version=v1, consumer_service=checkout, contact="#storefront")
    ApiConsumer.objects.create(api_version=v1, external_client="Acme POS", contact="ops@acme")
    release = ReleaseFactory(author=dave, version="2.1.0", services=[(payments, "2.1.0")])
    return {"v1": v1, "v2": v2, "checkout": checkout, "release": release}


def test_release_removing_a_used_version_is_flagged_naming_every_consumer(graph):
    ApiChange.objects.create(release=graph["release"], api_version=graph["v1"], change="removes")
    decision = api_compat.check(graph["release"])
    assert not decision.allowed
    (flag,) = decision.failed
    assert "checkout-service (team Storefront)" in flag.message
    assert "external client Acme POS" in flag.message
    assert flag.data["teams"] == ["Storefront"]
    assert {c["external_client"] for c in flag.data["consumers"]} == {None, "Acme POS"}


def test_breaking_a_version_nobody_uses_or_adding_to_one_passes(graph):
    ApiChange.objects.create(release=graph["release"], api_version=graph["v2"], change="breaks")
    assert api_compat.check(graph["release"]).allowed
    ApiChange.objects.filter(release=graph["release"]).update(change="adds")
    graph["release"]._api_changes = None
    assert api_compat.check(graph["release"]).allowed


def test_removing_a_retired_version_passes_even_with_consumers_listed(graph):
    graph["v1"].status = "retired"
    graph["v1"].save()
    ApiChange.objects.create(release=graph["release"], api_version=graph["v1"], change="removes")
    decision = api_compat.check(graph["release"])
    assert decision.allowed
    assert "already retired" in decision.reasons[0].message


def test_a_release_without_api_changes_is_compatible(graph):
    decision = api_compat.check(graph["release"])
    assert decision.allowed and "no API changes" in decision.reasons[0].message


def test_deprecation_schedule_counts_days_to_sunset_and_consumers_left(graph):
    version = api_compat.versions_with_consumers().get(pk=graph["v1"].pk)
    plan = api_compat.schedule(version)
    assert plan.phase == "deprecated"
    assert plan.days_to_sunset == 60
    assert len(plan.consumers) == 2
    assert "2 consumer(s) to move" in plan.message


def test_a_version_past_its_sunset_and_not_retired_says_so(graph):
    graph["v1"].sunset_on = date.today() - timedelta(days=1)
    graph["v1"].save()
    plan = api_compat.schedule(api_compat.versions_with_consumers().get(pk=graph["v1"].pk))
    assert plan.phase == "sunset passed"


def test_a_consumer_names_a_service_or_an_external_client_not_both(graph):
    both = ApiConsumer(
        api_version=graph["v2"], consumer_service=graph["checkout"], external_client="X"
    )
    with pytest.raises(ValidationError, match="either a consumer service or an external client"):
        both.clean()
    with pytest.raises(ValidationError):
        ApiConsumer(api_version=graph["v2"]).clean()


def test_sunset_before_deprecation_is_refused(graph):
    graph["v2"].deprecated_on = date(2030, 5, 1)
    graph["v2"].sunset_on = date(2030, 4, 1)
    with pytest.raises(ValidationError, match="sunset cannot come before"):
        graph["v2"].clean()


def test_check_is_two_queries_whatever_the_number_of_consumers(graph, django_assert_num_queries):
    ApiChange.objects.create(release=graph["release"], api_version=graph["v1"], change="removes")
    for n in range(5):
        ApiConsumer.objects.create(api_version=graph["v1"], external_client=f"Client {n}")
    with django_assert_num_queries(2):
        assert not api_compat.check(graph["release"]).allowed
