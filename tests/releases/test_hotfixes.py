"""Hotfixes: built from production's version, carried forward by later releases (item 10)."""

from datetime import timedelta

import pytest

from releases import hotfixes
from tests.factories import ReleaseFactory, ScopeItemFactory, ServiceFactory


@pytest.fixture
def in_production(move_to):
    """dave's payments-api 1.4.2 succeeded in production."""
    return move_to("deployed")


def _hotfix(author, payments, version="1.4.3", **kwargs):
    hotfix = ReleaseFactory(
        author=author, kind="hotfix", version=version, services=[(payments, version)], **kwargs
    )
    ScopeItemFactory(release=hotfix, title="Fix double charge", kind="fix", reference="PAY-900")
    return hotfix


def test_version_keys_compare_numerically():
    assert hotfixes.version_key("1.10.0") > hotfixes.version_key("1.9.9")
    assert hotfixes.version_key("v2.1") == (2, 1, 0)
    assert hotfixes.version_key("1.4.3-rc.1") == (1, 4, 3)


def test_hotfix_built_on_the_production_version_passes(in_production, dave, payments):
    decision = hotfixes.based_on_production(_hotfix(dave, payments))
    assert decision.allowed
    assert "built on 1.4.2" in decision.reasons[0].message
    assert decision.reasons[0].data["production_release"] == in_production.key


def test_hotfix_not_built_on_the_production_version_is_flagged(in_production, dave, payments):
    decision = hotfixes.based_on_production(_hotfix(dave, payments, version="1.6.1"))
    assert not decision.allowed
    assert "not a patch of 1.4.2" in decision.failed[0].message


def test_hotfix_of_a_service_never_in_production_is_flagged(dave, payments):
    decision = hotfixes.based_on_production(_hotfix(dave, payments))
    assert not decision.allowed
    assert "no successful production deployment" in decision.failed[0].message


def test_later_releases_of_the_same_service_must_carry_the_hotfix(in_production, dave, payments):
    soon = timezone_now() + timedelta(days=1)
    hotfix = _hotfix(dave, payments, planned_start=soon)
    behind = ReleaseFactory(
        author=dave,
        version="1.4.0",
        services=[(payments, "1.4.0")],
        planned_start=soon + timedelta(days=3),
    )
    ahead = ReleaseFactory(
        author=dave,
        version="1.5.0",
        services=[(payments, "1.5.0")],
        planned_start=soon + timedelta(days=5),
    )
    referencing = ReleaseFactory(
        author=dave,
        version="1.4.1",
        services=[(payments, "1.4.1")],
        planned_start=soon + timedelta(days=6),
    )
    ScopeItemFactory(release=referencing, title=f"Carry {hotfix.key}")
    earlier = ReleaseFactory(
        author=dave,
        version="1.3.0",
        services=[(payments, "1.3.0")],
        planned_start=soon - timedelta(hours=12),
    )
    other = ReleaseFactory(
        author=dave, services=[(ServiceFactory(), "9.0.0")], planned_start=soon + timedelta(days=2)
    )

    carry = hotfixes.carry_forward(hotfix)

    by_key = {c.release.key: c for c in carry}
    assert set(by_key) == {behind.key, ahead.key, referencing.key}
    assert earlier.key not in by_key and other.key not in by_key
    assert carry[0].release == behind and not carry[0].carried
    assert carry[0].missing == [
        {
            "service": "payments-api",
            "hotfix_version": "1.4.3",
            "release_version": "1.4.0",
            "carried": False,
        }
    ]
    assert [i.title for i in carry[0].scope_items] == ["Fix double charge"]
    assert by_key[ahead.key].carried
    assert by_key[referencing.key].carried and by_key[referencing.key].referenced
    assert in_production.key not in by_key  # already in production


def test_a_normal_release_lists_the_hotfixes_it_must_carry(in_production, dave, payments):
    hotfix = _hotfix(dave, payments, planned_start=timezone_now())
    upcoming = ReleaseFactory(
        author=dave,
        version="1.4.0",
        services=[(payments, "1.4.0")],
        planned_start=timezone_now() + timedelta(days=4),
    )
    (carry,) = hotfixes.for_release(upcoming)
    assert carry.hotfix == hotfix and not carry.carried
    assert carry.as_dict()["services"][0]["hotfix_version"] == "1.4.3"


def test_a_cancelled_hotfix_needs_no_carrying(in_production, dave, alice, payments):
    from releases import lifecycle

    hotfix = _hotfix(dave, payments, planned_start=timezone_now())
    lifecycle.transition(hotfix, "cancel", alice)
    upcoming = ReleaseFactory(
        author=dave,
        version="1.4.0",
        services=[(payments, "1.4.0")],
        planned_start=timezone_now() + timedelta(days=4),
    )
    assert hotfixes.for_release(upcoming) == []


def test_carry_forward_queries_do_not_grow_with_releases(
    in_production, dave, payments, django_assert_max_num_queries
):
    hotfix = _hotfix(dave, payments, planned_start=timezone_now())

    def later(n):
        for i in range(n):
            ReleaseFactory(
                author=dave,
                version=f"1.4.{i}",
                services=[(payments, f"1.4.{i}")],
                planned_start=timezone_now() + timedelta(days=2 + i),
            )

    later(2)
    with django_assert_max_num_queries(6):
        assert len(hotfixes.carry_forward(hotfix)) == 2
    later(6)
    with django_assert_max_num_queries(6):
        assert len(hotfixes.carry_forward(hotfix)) == 8


def timezone_now():
    from django.utils import timezone

    return timezone.now()
