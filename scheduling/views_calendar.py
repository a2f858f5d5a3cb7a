"""The release calendar (month and week views) and its iCalendar feed.

Both read ``scheduling.agenda.build``; the page lays the items out on a grid in the display time
zone (the filtered region's, else the site's), the feed writes them as VEVENTs in UTC.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView
from icalendar import Calendar, Event

from releasemgr.models import ApiToken, hash_token
from releasemgr.web import RoleRequiredMixin
from scheduling.agenda import KIND_LABELS, build
from scheduling.forms import CalendarFilterForm

VIEW_PERMISSION = "scheduling.view_freezewindow"
MAX_PER_DAY = 6  # month cells show this many items, then "+N more"
# The feed covers this much history and future.
FEED_PAST, FEED_FUTURE = timedelta(days=31), timedelta(days=183)


def _filter_form(request) -> CalendarFilterForm:
    form = CalendarFilterForm(request.GET or None)
    if form.is_bound:
        form.is_valid()
    return form


def _display_zone(filters: dict) -> ZoneInfo:
    region = filters.get("region")
    if region is not None:
        return ZoneInfo(region.timezone)
    return timezone.get_current_timezone()


def _bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start, end


def _add_month(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


class CalendarView(RoleRequiredMixin, TemplateView):
    """Month and week views of releases, deployments, windows, go-lives and patch deadlines."""

    permission_required = VIEW_PERMISSION
    template_name = "scheduling/calendar/calendar.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = _filter_form(self.request)
        data = form.cleaned_data if form.is_bound else {}
        filters = form.filters()
        zone = _display_zone(filters)
        now = timezone.now()
        today = now.astimezone(zone).date()
        anchor = data.get("date") or today
        view = data.get("view") or "month"
        if view == "week":
            first = anchor - timedelta(days=anchor.weekday())
            days = [first + timedelta(days=i) for i in range(7)]
            previous, following = first - timedelta(days=7), first + timedelta(days=7)
            title = f"Week of {first:%d %b %Y}"
            month_start = None
        else:
            month_start = anchor.replace(day=1)
            first = month_start - timedelta(days=month_start.weekday())
            last = _add_month(month_start, 1) - timedelta(days=1)
            span = (last - first).days + 1
            weeks = -(-span // 7)
            days = [first + timedelta(days=i) for i in range(weeks * 7)]
            previous, following = _add_month(month_start, -1), _add_month(month_start, 1)
            title = f"{month_start:%B %Y}"
        since, _ = _bounds(days[0], zone)
        _, until = _bounds(days[-1], zone)
        agenda = build(since, until, now, **filters)
        cells = []
        for day in days:
            lo, hi = _bounds(day, zone)
            items = []
            for item in agenda.on(lo, hi):
                start = item.start.astimezone(zone)
                end = item.end.astimezone(zone) if item.end else None
                items.append(
                    {
                        "item": item,
                        "starts_before": start < lo,
                        "ends_after": end is not None and end > hi,
                        "all_day": end is not None and start <= lo and end >= hi,
                        # Naive wall-clock times: the template's date filters would otherwise
                        # show them in the site's zone, not the calendar's.
                        "start": start.replace(tzinfo=None),
                        "end": end.replace(tzinfo=None) if end else None,
                    }
                )
            cells.append(
                {
                    "day": day,
                    "items": items,
                    "shown": items if view == "week" else items[:MAX_PER_DAY],
                    "more": 0 if view == "week" else max(0, len(items) - MAX_PER_DAY),
                    "today": day == today,
                    "outside": month_start is not None and day.month != month_start.month,
                    "weekend": day.weekday() >= 5,
                }
            )
        context.update(
            {
                "form": form,
                "view": view,
                "title": title,
                "cells": cells,
                "weeks": [cells[i : i + 7] for i in range(0, len(cells), 7)],
                "weekday_names": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                "zone": str(zone),
                "today": today,
                "agenda": agenda,
                "legend": [
                    {"css": f"cal-{kind.replace('_', '-')}", "label": label}
                    for kind, label in KIND_LABELS.items()
                ],
                "nav": {
                    "previous": form.query(view=view, date=previous.isoformat()),
                    "next": form.query(view=view, date=following.isoformat()),
                    "today": form.query(view=view),
                    "month": form.query(view="month", date=anchor.isoformat()),
                    "week": form.query(view="week", date=anchor.isoformat()),
                },
                "feed_query": form.query(),
                "feed_url": self.request.build_absolute_uri(reverse("calendar_feed")),
                "filter_errors": form.errors if form.is_bound else {},
            }
        )
        return context


# --- iCalendar feed ----------------------------------------------------------------------


def _feed_user(request):
    """The signed-in user, else the owner of an active ``?token=`` key; (user, error)."""
    if request.user.is_authenticated:
        return request.user, None
    key = request.GET.get("token", "")
    if not key:
        return None, None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None, HttpResponse(
            "Invalid or revoked token.\n", status=401, content_type="text/plain; charset=utf-8"
        )
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, None


class CalendarFeedView(View):
    """``/calendar.ics``: the calendar's items as an iCalendar feed, with the page's filters.

    Calendar apps cannot sign in, so the feed also accepts ``?token=<key>``. A key in a URL
    ends up in the app's settings, sync logs and proxies: use a *dedicated* token for the feed
    (issued on the API tokens page, ideally for a read-only account such as an auditor), and
    revoke it if the URL leaks. Without a session or a token: the login page; a bad token: 401;
    a user without a role: 403.
    """

    def get(self, request):
        user, error = _feed_user(request)
        if error is not None:
            return error
        if user is None:
            return redirect_to_login(request.get_full_path())
        if not user.has_perm(VIEW_PERMISSION):
            return HttpResponse(
                "This account may not read the calendar.\n",
                status=403,
                content_type="text/plain; charset=utf-8",
            )
        form = CalendarFilterForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
            return HttpResponse(
                f"Bad filter: {problems}\n", status=400, content_type="text/plain; charset=utf-8"
            )
        now = timezone.now()
        agenda = build(now - FEED_PAST, now + FEED_FUTURE, now, **form.filters())
        calendar = Calendar()
        calendar.add("prodid", "-//Release manager//Release calendar//EN")
        calendar.add("version", "2.0")
        calendar.add("x-wr-calname", "Release calendar" + _feed_suffix(form))
        host = request.get_host()
        for item in agenda.items:
            event = Event()
            event.add("uid", f"{item.uid}@{host}")
            event.add("dtstamp", now)
            event.add("dtstart", item.start)
            if item.end is not None:
                event.add("dtend", item.end)
            event.add("summary", f"[{item.label}] {item.title}")
            if item.detail:
                event.add("description", item.detail)
            if item.url:
                event.add("url", request.build_absolute_uri(item.url))
            event.add("categories", [item.label])
            calendar.add_component(event)
        response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="release-calendar.ics"'
        response["Cache-Control"] = "private, max-age=300"
        return response


def _feed_suffix(form: CalendarFilterForm) -> str:
    named = [str(v) for v in form.filters().values() if v is not None]
    return f" ({', '.join(named)})" if named else ""
