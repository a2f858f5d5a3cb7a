"""The trains demo area: advice shows, one pin conflict, and running it twice changes nothing."""

from releases import libraries, trains
from releases.demo_trains import demo
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain, TrainCar
from tests.factories import DependencyFactory, ReleaseFactory, ServiceFactory
from tests.releases import builders


def test_the_demo_shows_decoupling_advice_and_one_pin_conflict(db, alice, dave):
    def svc(slug, risk, sla, tier, facing):
        return ServiceFactory(
            slug=slug,
            risk_profile=risk,
            recovery_sla_minutes=sla,
            tier=tier,
            customer_facing=facing,
        )

    checkout = svc("checkout-service", "high", 15, 1, True)
    payments = svc("payments-api", "high", 15, 1, True)
    catalog = svc("catalog-service", "medium", 120, 2, False)
    profile = svc("user-profile", "low", 120, 2, True)
    common, agent = (
        svc("common-lib", "medium", 240, 2, False),
        svc("observability-agent", "low", 480, 3, False),
    )
    DependencyFactory(service=checkout, depends_on=payments, kind="runtime")
    for s in (checkout, payments):
        DependencyFactory(service=s, depends_on=common, kind="library")
    DependencyFactory(service=catalog, depends_on=agent, kind="library")
    saved = ReleaseFactory(
        author=dave,
        name="Checkout saved cards",
        services=[(checkout, "4.2.0"), (payments, "1.9.0")],
    )
    ReleaseFactory(author=dave, name="Catalog search ranking", services=[(catalog, "3.1.0")])
    ReleaseFactory(author=dave, name="Profile photo upload", services=[(profile, "2.3.0")])
    builders.submit(saved, dave)
    users = {"release_manager": alice, "developer": dave}

    demo(users, {})
    counts = [m.objects.count() for m in (ReleaseTrain, TrainCar, LibraryUsage, ReleaseLibraryPin)]
    demo(users, {})

    assert counts == [
        m.objects.count() for m in (ReleaseTrain, TrainCar, LibraryUsage, ReleaseLibraryPin)
    ]
    assert counts[:2] == [1, 3]
    advice = trains.decoupling_advice(ReleaseTrain.objects.get())
    assert {r.data["service"] for r in advice.failed} == {"checkout-service", "payments-api"}
    flags = libraries.conflicts()
    assert [f.code for f in flags] == ["library_pin_conflict"]
