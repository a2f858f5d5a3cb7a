"""Shared-library versions: semver parsing, constraints, and the two kinds of conflict flag,
on small catalogs built in the test."""

import pytest
from django.core.exceptions import ValidationError

from releases import libraries
from releases.models.trains import LibraryUsage, ReleaseLibraryPin
from tests.factories import DependencyFactory, ReleaseFactory, ServiceFactory, TeamFactory
from tests.releases import builders


@pytest.fixture
def catalog(db):
    """checkout (Payments) calls pricing (Catalog); both link common-lib (Platform)."""
    platform = TeamFactory(slug="platform", name="Platform")
    lib = ServiceFactory(slug="common-lib", team=platform)
    checkout = ServiceFactory(slug="checkout", team=TeamFactory(slug="payments", name="Payments"))
    pricing = ServiceFactory(slug="pricing", team=TeamFactory(slug="catalog", name="Catalog"))
    DependencyFactory(service=checkout, depends_on=pricing, kind="runtime")
    DependencyFactory(
        service=checkout, depends_on=lib, kind="library", version_constraint=">=2.1,<4"
    )
    DependencyFactory(
        service=pricing, depends_on=lib, kind="library", version_constraint=">=2.0,<3"
    )
    for service in (checkout, pricing):
        LibraryUsage(service=service, library=lib, version="2.4.0").save_with_reason("test")
    return {"lib": lib, "checkout": checkout, "pricing": pricing}


def pin(release, library, version):
    p = ReleaseLibraryPin(release=release, library=library, version=version)
    p.full_clean()
    p.save_with_reason("test")
    return p


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("2.4.0", (2, 4, 0, "")),
        ("v3.0.0-rc.1", (3, 0, 0, "rc.1")),
        ("1.2", None),
        ("01.2.3", None),
        ("two", None),
    ],
)
def test_semantic_versions_parse_only_when_they_have_three_numbers(text, parsed):
    assert libraries.parse_semver(text) == parsed


@pytest.mark.parametrize(
    ("version", "constraint", "ok"),
    [
        ("2.4.0", ">=2.1,<3", True),
        ("3.0.0", ">=2.1,<3", False),
        ("1.4.7", "~=1.4", True),
        ("2.0.0", "~=1.4", False),
        ("1.5.0", "~=1.4.2", False),
        ("2.9.1", "^2.1", True),
        ("2.4.0", "", None),
    ],
)
def test_constraints_are_read_like_pip_specifiers(version, constraint, ok):
    assert libraries.satisfies(version, constraint) is ok


def test_a_version_that_is_not_semantic_is_refused_with_a_clear_message(catalog):
    usage = LibraryUsage(service=catalog["checkout"], library=catalog["lib"], version="2.4")
    with pytest.raises(ValidationError) as exc:
        usage.full_clean(exclude=["service", "library"])
    assert "not a semantic version" in str(exc.value)


def test_only_a_shared_library_can_be_pinned(catalog, dave):
    release = ReleaseFactory(author=dave, services=[(catalog["checkout"], "5.0.0")])
    with pytest.raises(ValidationError) as exc:
        pin(release, catalog["pricing"], "1.0.0")
    assert "not a shared library" in str(exc.value)
    assert not ReleaseLibraryPin.objects.exists()


def test_a_release_moving_one_service_to_a_new_major_flags_the_service_it_calls(catalog, dave):
    release = ReleaseFactory(author=dave, services=[(catalog["checkout"], "5.0.0")])
    pin(release, catalog["lib"], "3.0.0")

    flags = libraries.conflicts(release)

    assert [f.code for f in flags] == ["library_version_conflict"]
    flag = flags[0]
    assert flag.data["teams"] == ["Catalog", "Payments"]
    assert {(s["service"], s["version"]) for s in flag.data["services"]} == {
        ("checkout", "3.0.0"),
        ("pricing", "2.4.0"),
    }
    assert "major versions differ" in flag.message


def test_a_version_outside_a_declared_constraint_is_flagged_even_in_the_same_major(catalog, dave):
    release = ReleaseFactory(author=dave, services=[(catalog["pricing"], "1.1.0")])
    pin(release, catalog["lib"], "2.0.0")  # pricing allows >=2.0,<3: fine
    assert libraries.conflicts(release) == []

    checkout_release = ReleaseFactory(author=dave, services=[(catalog["checkout"], "5.0.0")])
    pin(checkout_release, catalog["lib"], "2.0.5")  # checkout requires >=2.1
    flags = libraries.conflicts(checkout_release)
    assert len(flags) == 1
    assert "checkout requires >=2.1,<4 but would be on 2.0.5" in flags[0].message


def test_a_release_keeping_compatible_versions_is_not_flagged(catalog, dave):
    release = ReleaseFactory(author=dave, services=[(catalog["checkout"], "5.0.0")])
    pin(release, catalog["lib"], "2.6.1")
    assert libraries.conflicts(release) == []


def test_two_in_flight_releases_pinning_different_versions_are_flagged_on_both(
    catalog, dave, carol
):
    first = ReleaseFactory(author=dave, services=[(catalog["checkout"], "5.0.0")])
    second = ReleaseFactory(author=dave, services=[(catalog["pricing"], "1.1.0")])
    pin(first, catalog["lib"], "2.5.0")
    pin(second, catalog["lib"], "2.6.0")
    assert libraries.conflicts(first) == []  # two drafts: still plans
    builders.submit(first, dave)

    on_first = [f for f in libraries.conflicts(first) if f.code == "library_pin_conflict"]
    on_second = [f for f in libraries.conflicts(second) if f.code == "library_pin_conflict"]

    assert len(on_first) == len(on_second) == 1
    assert on_first[0].data["releases"] == sorted([first.key, second.key])
    assert on_first[0].data["teams"] == ["Catalog", "Payments"]
    assert "2.5.0" in on_first[0].message and "2.6.0" in on_first[0].message


def test_conflicts_take_the_same_few_queries_whatever_the_catalog_size(
    catalog, dave, django_assert_max_num_queries
):
    def grow(n):
        for i in range(n):
            service = ServiceFactory()
            DependencyFactory(service=service, depends_on=catalog["lib"], kind="library")
            DependencyFactory(service=service, depends_on=catalog["pricing"], kind="runtime")
            LibraryUsage(service=service, library=catalog["lib"], version="2.4.0").save()
            release = ReleaseFactory(author=dave, services=[(service, f"1.{i}.0")])
            pin(release, catalog["lib"], "3.0.0")

    grow(2)
    with django_assert_max_num_queries(5):
        small = libraries.conflicts()
    grow(6)
    with django_assert_max_num_queries(5):
        large = libraries.conflicts()
    assert len(large) > len(small) > 0
