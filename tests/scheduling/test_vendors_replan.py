"""Vendor deliverables: a late vendor re-plans the release and flags the audit deadline."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from releasemgr.decisions import DomainError, NotPermitted
from releasemgr.models import Notification
from scheduling.vendors import mark_delivered, mark_late
from tests.scheduling.planning_builders import (
    deliverable,
    hours,
    monday,
    planned,
    production,
    window,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def start():
    return monday() + hours(10)


@pytest.fixture
def release(dave, alice, payments, start):
    production()
    return planned(dave, payments, start, duration=hours(3), owner=alice)


@pytest.fixture
def sdk(release, start):
    # Expected two days before the start with a 24 h buffer: on time.
    return deliverable(release, start - timedelta(days=2), buffer_hours=24)


def test_marking_late_shifts_the_release_after_the_new_date_plus_buffer(release, sdk, start, dave):
    new_date = start + timedelta(days=1)
    result = mark_late(sdk, dave, new_date, "SDK failed vendor QA")
    release.refresh_from_db()
    assert result.replanned
    assert release.planned_start == new_date + hours(24)
    assert release.planned_end - release.planned_start == hours(3)  # duration kept
    sdk.refresh_from_db()
    assert sdk.expected_at == new_date


def test_every_date_change_keeps_its_reason_in_history(release, sdk, start, dave):
    mark_late(sdk, dave, start + timedelta(days=1), "SDK failed vendor QA")
    item_reason = sdk.history.order_by("-history_date").first().history_change_reason
    assert item_reason.startswith("late: SDK failed vendor QA (was ")
    release_row = release.history.order_by("-history_date").first()
    assert (
        release_row.history_change_reason == "re-planned: Acme Payments late (SDK failed vendor QA)"
    )
    assert release_row.history_user == dave


def test_the_re_plan_lands_on_the_next_free_slot_after_a_freeze(release, sdk, start, dave):
    ready = start + timedelta(days=1) + hours(24)
    window("Release freeze", ready - hours(1), ready + hours(10))
    mark_late(sdk, dave, start + timedelta(days=1), "Vendor holiday")
    release.refresh_from_db()
    assert release.planned_start == ready + hours(10)


def test_a_late_vendor_that_still_leaves_room_does_not_move_the_release(release, sdk, start, dave):
    result = mark_late(sdk, dave, start - timedelta(days=1, hours=1), "one day late")
    release.refresh_from_db()
    assert result.changed and not result.replanned
    assert release.planned_start == start


def test_a_missed_compliance_deadline_is_flagged_and_the_owner_notified_once(
    release, sdk, start, dave, alice
):
    release.compliance_deadline = start + timedelta(days=1)
    release.save()
    new_date = start + timedelta(days=2)
    result = mark_late(sdk, dave, new_date, "Certification delayed")
    assert [r.code for r in result.missed] == ["compliance_deadline_missed"]
    assert result.notified
    notice = Notification.objects.get(user=alice)
    assert notice.kind == "compliance_deadline_missed"
    assert "compliance deadline" in notice.message
    assert notice.link.endswith("#schedule")

    history_rows = release.history.count() + sdk.history.count()
    again = mark_late(sdk, dave, new_date, "Certification delayed")
    assert not again.changed and not again.replanned and not again.notified
    assert [r.code for r in again.missed] == ["compliance_deadline_missed"]
    assert Notification.objects.filter(user=alice).count() == 1
    assert release.history.count() + sdk.history.count() == history_rows


def test_a_later_slip_notifies_again(release, sdk, start, dave, alice):
    mark_late(sdk, dave, start + timedelta(days=1), "first slip")
    mark_late(sdk, dave, start + timedelta(days=3), "second slip")
    assert Notification.objects.filter(user=alice).count() == 2


def test_the_business_deadline_is_flagged_too(release, sdk, start, dave):
    release.deadline = start + timedelta(days=1)
    release.save()
    result = mark_late(sdk, dave, start + timedelta(days=2), "late")
    assert [r.code for r in result.missed] == ["deadline_missed"]


@pytest.mark.parametrize(
    "days, reason, field",
    [
        (-3, "earlier than before", "expected_at"),
        (1, "", "reason"),
        (1, "x" * 81, "reason"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(release, sdk, start, dave, days, reason, field):
    before = (sdk.history.count(), release.history.count())
    with pytest.raises(ValidationError) as exc:
        mark_late(sdk, dave, start + timedelta(days=days), reason)
    assert field in exc.value.message_dict
    sdk.refresh_from_db()
    release.refresh_from_db()
    assert sdk.expected_at == start - timedelta(days=2)
    assert release.planned_start == start
    assert (sdk.history.count(), release.history.count()) == before


def test_a_new_date_in_the_past_is_refused(release, dave):
    item = deliverable(release, timezone.now() - timedelta(days=5))
    with pytest.raises(ValidationError) as exc:
        mark_late(item, dave, timezone.now() - timedelta(days=1), "late")
    assert "past" in exc.value.message_dict["expected_at"][0]


def test_a_delivered_deliverable_cannot_be_late(release, sdk, start, dave):
    mark_delivered(sdk, dave)
    with pytest.raises(DomainError):
        mark_late(sdk, dave, start + timedelta(days=1), "late")


def test_only_people_who_may_change_deliverables_mark_them(sdk, start, paula):
    with pytest.raises(NotPermitted):
        mark_late(sdk, paula, start + timedelta(days=1), "late")
    with pytest.raises(NotPermitted):
        mark_delivered(sdk, paula)


def test_marking_delivered_records_it_once(sdk, dave):
    result = mark_delivered(sdk, dave, note="received via SFTP")
    assert result.changed
    sdk.refresh_from_db()
    assert sdk.delivered_at is not None
    assert sdk.history.order_by("-history_date").first().history_change_reason == (
        "delivered: received via SFTP"
    )
    assert not mark_delivered(sdk, dave).changed
    assert sdk.history.count() == 2


def test_a_delivery_in_the_future_is_refused(sdk, dave):
    with pytest.raises(ValidationError):
        mark_delivered(sdk, dave, timezone.now() + timedelta(days=1))
    sdk.refresh_from_db()
    assert sdk.delivered_at is None


def test_the_owner_is_emailed_about_the_late_vendor(
    release, sdk, start, dave, alice, settings, django_capture_on_commit_callbacks
):
    from django.core import mail

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        mark_late(sdk, dave, start + timedelta(days=1), "Certification delayed")
    assert [m.to for m in mail.outbox] == [[alice.email]]
    assert "Certification delayed" in mail.outbox[0].body
