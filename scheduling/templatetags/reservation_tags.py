"""The release page's booking panel (Schedule tab): its reservations, a quick "Reserve an
environment" form, its validation needs and what it ships after (for the sequencer)."""

from datetime import timedelta

from django import template
from django.utils import timezone

from scheduling.forms_reservations import ReleaseDependencyForm, ReservationForm, ValidationNeedForm
from scheduling.reservations import CLOSED_RELEASE_STATES
from scheduling.views_reservations import booking_status

register = template.Library()

SHORT_PURPOSES = {"uat": "UAT", "performance": "Performance", "integration": "Integration"}


@register.filter
def purpose_short(booking) -> str:
    """ "UAT" rather than "User acceptance testing", for narrow tables."""
    return SHORT_PURPOSES.get(booking.purpose) or booking.get_purpose_display()


@register.inclusion_tag("scheduling/panels/reservations.html", takes_context=True)
def reservation_panel(context, release):
    """A fixed number of queries whatever the number of bookings, needs and dependencies."""
    request = context["request"]
    user = request.user
    now = timezone.now()
    bookings = list(
        release.reservations.select_related("environment", "reserved_by")
        .prefetch_related("test_data_sets")
        .order_by("-start")[:20]
    )
    for booking in bookings:
        booking.status = booking_status(booking, now)
    needs = list(release.validation_needs.select_related("environment"))
    afters = list(release.sequencing_dependencies.select_related("after"))
    dependants = list(release.sequencing_dependents.select_related("release"))
    open_release = release.state not in CLOSED_RELEASE_STATES
    start = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    reserve_form = ReservationForm(
        initial={
            "release": release.key,
            "start": start + timedelta(hours=1),
            "end": start + timedelta(hours=9),
        },
        auto_id="resv_%s",
    )
    return {
        "release": release,
        "bookings": bookings,
        "needs": needs,
        "total_hours": sum(n.hours for n in needs),
        "afters": afters,
        "dependants": dependants,
        "reserve_form": reserve_form,
        "need_form": ValidationNeedForm(release=release, auto_id="need_%s"),
        "dependency_form": ReleaseDependencyForm(release=release, auto_id="dep_%s"),
        "can_reserve": open_release and user.has_perm("scheduling.add_reservation"),
        "can_add_need": user.has_perm("scheduling.add_validationneed"),
        "can_delete_need": user.has_perm("scheduling.delete_validationneed"),
        "can_add_dependency": user.has_perm("scheduling.add_releasedependency"),
        "can_delete_dependency": user.has_perm("scheduling.delete_releasedependency"),
        "next": release.get_absolute_url() + "?tab=schedule#schedule",
        "csrf_token": context.get("csrf_token"),
        "perms": context.get("perms"),
    }
