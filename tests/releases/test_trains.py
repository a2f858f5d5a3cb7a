"""Release trains: cadence, departures, decoupling advice on small catalogs, decoupling."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from releasemgr.decisions import IllegalTransition
from releases import trains
from releases.models import Release
from releases.models.trains import ReleaseLibraryPin, ReleaseTrain, TrainCar
from tests.factories import (
    DependencyFactory,
    ReleaseFactory,
    ScopeItemFactory,
    ServiceFactory,
)
from tests.releases import builders

UTC = ZoneInfo("UTC")


def make_train(**kwargs):
    defaults = {
        "slug": "storefront",
        "name": "Storefront train",
        "cadence": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        "dtstart": datetime(2030, 1, 1, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        "time_zone": "Europe/Berlin",
    }
    train = ReleaseTrain(**{**defaults, **kwargs})
    train.full_clean()
    train.save_with_reason("test")
    return train


def test_a_cadence_that_is_not_an_rrule_is_refused_with_an_example(db):
    with pytest.raises(ValidationError) as exc:
        make_train(cadence="every second tuesday")
    assert "FREQ" in str(exc.value)
    assert not ReleaseTrain.objects.exists()


def test_departures_follow_the_cadence_in_the_trains_time_zone(db):
    train = make_train()
    found = trains.next_departures(train, 3, after=datetime(2030, 3, 20, tzinfo=UTC))
    local = [d.astimezone(ZoneInfo("Europe/Berlin")) for d in found]
    assert [d.weekday() for d in local] == [1, 1, 1]  # Tuesdays
    assert [d.hour for d in local] == [10, 10, 10]  # 10:00 local across the DST change
    assert found[1] - found[0] == timedelta(days=14, hours=-1)  # summer time began between
    assert trains.is_departure(train, found[0])
    assert not trains.is_departure(train, found[0] + timedelta(days=1))


@pytest.fixture
def train(db):
    return make_train(dtstart=datetime(2020, 1, 7, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")))


def ride(train, release):
    return trains.add_release(train, release, None, release.author)


def test_a_release_rides_at_most_one_train_and_only_on_a_real_departure(train, dave):
    release = ReleaseFactory(author=dave)
    car = ride(train, release)
    assert car.departure == trains.next_departures(train, 1)[0]
    other = make_train(slug="other", name="Other train")
    with pytest.raises(ValidationError) as exc:
        ride(other, release)
    assert "already rides a train" in str(exc.value)
    second = ReleaseFactory(author=dave)
    with pytest.raises(ValidationError) as exc:
        trains.add_release(train, second, car.departure + timedelta(hours=1), dave)
    assert "is not a departure" in str(exc.value)
    assert TrainCar.objects.count() == 1


def _service(slug, risk="medium", sla=240, tier=3, facing=False):
    return ServiceFactory(
        slug=slug, risk_profile=risk, recovery_sla_minutes=sla, tier=tier, customer_facing=facing
    )


def test_a_high_risk_tight_sla_service_is_advised_off_a_train_of_calm_services(train, dave):
    web = _service("web", risk="high", sla=30, tier=1, facing=True)
    search, reports = _service("search", sla=240), _service("reports", risk="low", sla=480)
    shared = ReleaseFactory(author=dave, services=[(web, "7.0.0"), (search, "2.0.0")])
    ride(train, shared)
    ride(train, ReleaseFactory(author=dave, services=[(reports, "1.1.0")]))

    advice = trains.decoupling_advice(train)

    assert [r.data["service"] for r in advice.failed] == ["web"]
    reason = advice.failed[0]
    assert reason.data["release"] == shared.key
    assert "high risk" in reason.message
    assert "within 30 min" in reason.message and "allow 360 min" in reason.message


def test_services_with_one_profile_can_ride_together(train, dave):
    a, b = _service("a", sla=240), _service("b", sla=180)
    ride(train, ReleaseFactory(author=dave, services=[(a, "1.0.0"), (b, "1.0.0")]))
    advice = trains.decoupling_advice(train)
    assert advice.allowed
    assert "can ride together" in advice.reasons[0].message


def test_advice_reads_two_queries_whatever_the_trains_size(
    train, dave, django_assert_max_num_queries
):
    def grow(n):
        for i in range(n):
            ride(train, ReleaseFactory(author=dave, services=[(_service(f"s{i}-{n}"), "1.0.0")]))

    grow(2)
    with django_assert_max_num_queries(2):
        trains.decoupling_advice(train)
    grow(8)
    with django_assert_max_num_queries(2):
        trains.decoupling_advice(train)


def test_decoupling_moves_the_service_into_its_own_release_keeping_history(train, alice, dave):
    web, search = _service("web", risk="high", sla=30), _service("search")
    lib = ServiceFactory(slug="common-lib")
    DependencyFactory(service=web, depends_on=lib, kind="library")
    from releases.models.trains import LibraryUsage

    LibraryUsage(service=web, library=lib, version="2.4.0").save()
    release = ReleaseFactory(author=dave, services=[(web, "7.0.0"), (search, "2.0.0")])
    item = ScopeItemFactory(release=release, service=web, title="Dark mode")
    ReleaseLibraryPin(release=release, library=lib, version="2.5.0").save()
    ride(train, release)

    new = trains.decouple(train, release, web, alice, "tight SLA")

    assert new.pk != release.pk and new.author == dave
    assert list(new.release_services.values_list("service__slug", "version")) == [("web", "7.0.0")]
    assert list(release.release_services.values_list("service__slug", flat=True)) == ["search"]
    item.refresh_from_db()
    assert item.release == new
    assert new.library_pins.get().version == "2.5.0"
    assert not TrainCar.objects.filter(release=new).exists()
    assert release.train_car.train == train
    line = new.release_services.get()
    reasons = list(line.history.values_list("history_change_reason", flat=True))
    assert f"decoupled from {release.key} into {new.key}: tight SLA" in reasons
    assert release.history.first().history_change_reason.startswith(f"web decoupled into {new.key}")
    assert release.history.first().history_user == alice


def test_decoupling_the_only_service_takes_the_release_off_the_train(train, alice, dave):
    release = ReleaseFactory(author=dave, services=[(_service("web"), "7.0.0")])
    ride(train, release)
    assert trains.decouple(train, release, release.services.get(), alice, "alone") == release
    assert not TrainCar.objects.exists()
    assert Release.objects.count() == 1


def test_a_submitted_release_cannot_be_split(train, alice, dave):
    web, search = _service("web"), _service("search")
    release = ReleaseFactory(author=dave, services=[(web, "7.0.0"), (search, "2.0.0")])
    ride(train, release)
    builders.submit(release, dave)
    with pytest.raises(IllegalTransition):
        trains.decouple(train, release, web, alice, "late")
    assert Release.objects.count() == 1
    assert release.release_services.count() == 2


def test_decoupling_needs_a_reason(train, alice, dave):
    release = ReleaseFactory(author=dave, services=[(_service("web"), "7.0.0")])
    ride(train, release)
    with pytest.raises(ValidationError):
        trains.decouple(train, release, release.services.get(), alice, " ")
    assert TrainCar.objects.count() == 1
