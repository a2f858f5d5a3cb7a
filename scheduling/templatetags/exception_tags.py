"""The release page's freeze-exception panel (Schedule tab)."""

from django import template
from django.utils import timezone

from scheduling import freeze_exceptions
from scheduling.choices import ExceptionStatus

register = template.Library()


@register.inclusion_tag("scheduling/panels/exceptions.html", takes_context=True)
def exception_panel(context, release):
    """The release's exceptions with status and validity, and the freezes and blackouts that
    stop it now or in the next 30 days, each with a "Request exception" button.

    A fixed number of queries: the exceptions, the release's services, the windows and
    their scopes.
    """
    request = context["request"]
    user = request.user
    now = timezone.now()
    exceptions = list(
        release.freeze_exceptions.select_related("window", "requested_by", "decided_by").order_by(
            "-created"
        )
    )
    for exception in exceptions:
        exception.validity = freeze_exceptions.validity(exception, now)
    finished = release.state in freeze_exceptions.FINISHED_STATES
    blocking = []
    if not finished:
        for item in freeze_exceptions.blocking_windows(release, now, now + freeze_exceptions.SOON):
            covering = [
                e
                for e in exceptions
                if e.window_id == item.window.pk
                and e.status in freeze_exceptions.OPEN_STATUSES
                and e.valid_until > now
            ]
            blocking.append(
                {
                    "window": item.window,
                    "occurrence": item.first,
                    "active": item.first.start <= now,
                    "more": len(item.occurrences) - 1,
                    "exception": covering[0] if covering else None,
                }
            )
    return {
        "release": release,
        "exceptions": exceptions,
        "blocking": blocking,
        "finished": finished,
        "can_request": user.has_perm(freeze_exceptions.REQUEST_PERMISSION) and not finished,
        "pending": ExceptionStatus.PENDING,
        "days": freeze_exceptions.SOON.days,
        "now": now,
    }


QUEUE_CARD_SIZE = 5


@register.inclusion_tag("scheduling/exceptions/_queue_card.html", takes_context=True)
def exception_queue_card(context):
    """For the dashboard: pending freeze exceptions for someone who may decide them (expedited
    first). Renders nothing for others or when none is pending. Two queries."""
    from scheduling.filtersets_exceptions import queue_order
    from scheduling.models import FreezeException

    user = context["request"].user
    if not user.has_perm(freeze_exceptions.DECIDE_PERMISSION):
        return {"show": False}
    pending = FreezeException.objects.filter(status=ExceptionStatus.PENDING)
    rows = list(
        queue_order(pending.select_related("release", "window", "requested_by"))[:QUEUE_CARD_SIZE]
    )
    return {"show": bool(rows), "rows": rows, "total": pending.count() if rows else 0}


@register.inclusion_tag("scheduling/exceptions/_window_card.html", takes_context=True)
def window_exceptions(context, window):
    """For a calendar window's page: its exceptions and a "Request exception" button
    (``/exceptions/new/?window=<id>``). Nothing for windows that block nothing. One query."""
    from scheduling.choices import BLOCKING_KINDS

    if window.kind not in BLOCKING_KINDS:
        return {"show": False}
    user = context["request"].user
    now = timezone.now()
    exceptions = list(
        window.exceptions.select_related("release", "requested_by", "decided_by").order_by(
            "-created"
        )[:10]
    )
    for exception in exceptions:
        exception.validity = freeze_exceptions.validity(exception, now)
    return {
        "show": True,
        "window": window,
        "exceptions": exceptions,
        "can_request": user.has_perm(freeze_exceptions.REQUEST_PERMISSION),
    }
