"""Environment booking and sequencing pages.

Bookings (list, detail, create with its refusal reasons and free-slot
proposals, cancel), the occupancy of non-production environments, test data
sets, a release's validation needs and dependencies (posted from its
Schedule tab), and the sequencing page with its Gantt chart. The rules live
in ``scheduling.reservations`` and ``scheduling.sequencer``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import View
from django.views.generic import CreateView, DetailView, UpdateView

from releasemgr.decisions import DomainError, NotPermitted
from releasemgr.views import ModelFormSaveMixin, style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases.models import Release
from scheduling import reservations, sequencer
from scheduling.choices import ReservationPurpose
from scheduling.filtersets_reservations import ReservationFilterSet, TestDataSetFilterSet
from scheduling.forms_reservations import (
    ReleaseDependencyForm,
    ReservationForm,
    TestDataSetForm,
    ValidationNeedForm,
)
from scheduling.models import (
    Environment,
    ReleaseDependency,
    Reservation,
    TestDataSet,
    ValidationNeed,
)

# Colours for environments in the charts (red and orange are kept for deadlines).
PALETTE = [
    "#4e79a7",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#9c755f",
    "#edc948",
    "#86bcb6",
    "#8cd17d",
    "#a0cbe8",
    "#bab0ac",
]
PURPOSE_COLOURS = {
    ReservationPurpose.UAT: "#4e79a7",
    ReservationPurpose.PERFORMANCE: "#b07aa1",
    ReservationPurpose.INTEGRATION: "#59a14f",
    ReservationPurpose.OTHER: "#9c755f",
}


def booking_status(booking: Reservation, now: datetime) -> str:
    if booking.cancelled_at is not None:
        return "cancelled"
    if booking.end <= now:
        return "past"
    return "active" if booking.start <= now else "upcoming"


def list_order(queryset, now: datetime):
    """Active first, then upcoming (soonest first), then past (latest first), cancelled last."""
    return queryset.annotate(
        rank=Case(
            When(cancelled_at__isnull=False, then=Value(3)),
            When(start__lte=now, end__gt=now, then=Value(0)),
            When(start__gt=now, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
        soon=Case(When(cancelled_at__isnull=True, start__gt=now, then=F("start"))),
    ).order_by("rank", F("soon").asc(nulls_last=True), "-start", "-pk")


def _with_related(queryset):
    return queryset.select_related("environment", "release", "reserved_by").prefetch_related(
        "test_data_sets"
    )


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _schedule_tab(release: Release) -> str:
    return release.get_absolute_url() + "?tab=schedule#schedule"


# --- a time axis for the server-rendered charts ----------------------------------------------


@dataclass
class Scale:
    since: datetime
    until: datetime
    left: float
    width: float

    def x(self, moment: datetime) -> float:
        span = (self.until - self.since).total_seconds() or 1
        offset = (moment - self.since).total_seconds() / span
        return round(self.left + max(0.0, min(1.0, offset)) * self.width, 1)

    def bar(self, start: datetime, end: datetime, minimum: float = 3.0) -> tuple[float, float]:
        x1, x2 = self.x(start), self.x(end)
        return x1, round(max(minimum, x2 - x1), 1)

    def ticks(self) -> list[dict]:
        """Day lines when the range is short, week lines (Mondays) otherwise."""
        days = (self.until - self.since).days
        step = timedelta(days=1) if days <= 21 else timedelta(days=7)
        local = timezone.localtime(self.since)
        moment = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if step.days == 7:
            moment -= timedelta(days=moment.weekday())
        ticks = []
        while moment < self.until:
            if moment >= self.since:
                label = moment.strftime("%a %d %b") if step.days == 1 else moment.strftime("%d %b")
                x = self.x(moment)
                ticks.append({"x": x, "label_x": round(x + 2, 1), "label": label})
            moment += step
        return ticks


# --- bookings ----------------------------------------------------------------------------------


class ReservationListView(RoleRequiredMixin, View):
    """Bookings, filtered by environment, release, purpose, time and data set; paginated."""

    permission_required = "scheduling.view_reservation"

    def get(self, request):
        now = timezone.now()
        filterset = ReservationFilterSet(
            request.GET or None, queryset=_with_related(list_order(Reservation.objects.all(), now))
        )
        page = paginate(request, filterset.qs)
        for booking in page:
            booking.status = booking_status(booking, now)
        context = {
            "page": page,
            "filter": filterset,
            "filter_form": style_filter_form(filterset.form),
            "data_sets": list(TestDataSet.objects.order_by("name").values_list("slug", "name")),
            "now": now,
        }
        return render(request, "scheduling/reservations/reservation_list.html", context)


class ReservationDetailView(RoleRequiredMixin, View):
    permission_required = "scheduling.view_reservation"

    def get(self, request, pk):
        booking = get_object_or_404(_with_related(Reservation.objects.all()), pk=pk)
        now = timezone.now()
        context = {
            "booking": booking,
            "status": booking_status(booking, now),
            "can_cancel": booking_status(booking, now) in ("active", "upcoming")
            and reservations.may_cancel(request.user, booking),
            "history": history_rows(booking),
        }
        return render(request, "scheduling/reservations/reservation_detail.html", context)


class ReservationCreateView(RoleRequiredMixin, View):
    """Book an environment; a refusal shows every reason and proposes free slots.

    ``action=check`` only checks availability (nothing is written).
    """

    permission_required = "scheduling.add_reservation"
    template_name = "scheduling/reservations/reservation_form.html"

    def _initial(self, request) -> dict:
        initial = {"purpose": request.GET.get("purpose") or ReservationPurpose.UAT}
        for name in ("release", "environment"):
            if request.GET.get(name):
                initial[name] = request.GET[name]
        for name in ("start", "end"):
            value = parse_datetime(request.GET.get(name, ""))
            if value is not None:
                if timezone.is_naive(value):
                    value = timezone.make_aware(value)
                initial[name] = timezone.localtime(value)
        if request.GET.getlist("test_data_sets"):
            initial["test_data_sets"] = request.GET.getlist("test_data_sets")
        if "start" not in initial:
            soon = timezone.localtime().replace(minute=0, second=0, microsecond=0)
            initial["start"] = soon + timedelta(hours=1)
            initial["end"] = soon + timedelta(hours=9)
        return initial

    def _render(self, request, form, status=200, **extra):
        context = {"form": form, "next": _safe_next(request, ""), **extra}
        return render(request, self.template_name, context, status=status)

    def get(self, request):
        return self._render(request, ReservationForm(initial=self._initial(request)))

    def post(self, request):
        form = ReservationForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        data = form.cleaned_data
        env, start, end = data["environment"], data["start"], data["end"]
        data_sets = list(data["test_data_sets"])
        if request.POST.get("action") == "check":
            reasons = reservations.conflicts(env, start, end, data_sets, release=data["release"])
            return self._render(
                request,
                form,
                checked=True,
                reasons=reasons,
                slots=self._slots(data, reasons),
            )
        try:
            booking = reservations.reserve(
                data["release"],
                env,
                request.user,
                data["purpose"],
                start,
                end,
                data_sets,
                data["notes"],
            )
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            return self._render(
                request,
                form,
                status=409,
                refused=True,
                reasons=exc.reasons,
                slots=self._slots(data, exc.reasons),
            )
        messages.success(
            request,
            f"{env.name} is booked for {booking.release.key} "
            f"({booking.get_purpose_display()}) from {timezone.localtime(start):%Y-%m-%d %H:%M} "
            f"to {timezone.localtime(end):%Y-%m-%d %H:%M}.",
        )
        return redirect(_safe_next(request, booking.get_absolute_url()))

    def _slots(self, data, reasons) -> list[dict]:
        """Free periods of the same length, when the refusal is about room (not the input)."""
        if not reasons or any(
            r.code in ("reservation_period", "production_environment", "release_state")
            for r in reasons
        ):
            return []
        if any(r.code == "test_data_set" and "not available" in r.message for r in reasons):
            return []
        env, start, end = data["environment"], data["start"], data["end"]
        slots = reservations.free_slots(
            env,
            end - start,
            max(start, timezone.now()),
            data_sets=data["test_data_sets"],
            count=3,
        )
        out = []
        for slot in slots:
            query = [
                ("release", data["release"].key),
                ("environment", env.slug),
                ("purpose", data["purpose"]),
                ("start", timezone.localtime(slot.start).strftime("%Y-%m-%dT%H:%M")),
                ("end", timezone.localtime(slot.end).strftime("%Y-%m-%dT%H:%M")),
                *[("test_data_sets", d.slug) for d in data["test_data_sets"]],
            ]
            out.append(
                {
                    "start": slot.start,
                    "end": slot.end,
                    "url": reverse("reservation_create") + "?" + urlencode(query),
                }
            )
        return out


class ReservationCancelView(RoleRequiredMixin, View):
    """GET asks for confirmation; POST cancels (the booker, the release's people, a manager)."""

    permission_required = "scheduling.view_reservation"
    template_name = "scheduling/reservations/reservation_cancel.html"

    def get(self, request, pk):
        booking = get_object_or_404(_with_related(Reservation.objects.all()), pk=pk)
        status = booking_status(booking, timezone.now())
        context = {
            "booking": booking,
            "status": status,
            "can_cancel": status in ("active", "upcoming")
            and reservations.may_cancel(request.user, booking),
        }
        return render(request, self.template_name, context)

    def post(self, request, pk):
        booking = get_object_or_404(Reservation.objects.select_related("release"), pk=pk)
        try:
            reservations.cancel(booking, request.user)
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(booking)
        messages.success(
            request,
            f"Booking of {booking.environment.name} for {booking.release.key} cancelled; "
            "its place is free again.",
        )
        return redirect(_safe_next(request, booking.get_absolute_url()))


class OccupancyView(RoleRequiredMixin, View):
    """Per non-production environment, its bookings against its capacity for the next weeks."""

    permission_required = "scheduling.view_reservation"
    LANE = 24
    LEFT = 0
    WIDTH = 1000

    def get(self, request):
        try:
            weeks = min(max(int(request.GET.get("weeks", 4)), 1), 12)
        except ValueError:
            weeks = 4
        now = timezone.now()
        since = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        until = since + timedelta(weeks=weeks)
        scale = Scale(since, until, self.LEFT, self.WIDTH)
        envs = list(Environment.objects.filter(is_production=False).order_by("order"))
        bookings: dict[int, list[Reservation]] = {e.pk: [] for e in envs}
        for booking in (
            reservations.overlapping(since, until)
            .filter(environment__in=envs)
            .select_related("release")
            .prefetch_related("test_data_sets")
            .order_by("start", "pk")
        ):
            bookings[booking.environment_id].append(booking)
        rows = [self._row(env, bookings[env.pk], scale, since, until) for env in envs]
        context = {
            "rows": rows,
            "ticks": scale.ticks(),
            "now_x": scale.x(now),
            "weeks": weeks,
            "week_choices": [1, 2, 4, 8, 12],
            "since": since,
            "until": until,
            "width": self.WIDTH,
            "purposes": [
                (label, PURPOSE_COLOURS[value]) for value, label in ReservationPurpose.choices
            ],
        }
        return render(request, "scheduling/reservations/occupancy.html", context)

    def _row(self, env, items, scale, since, until) -> dict:
        top, lane_h = 18, self.LANE
        lanes: list[datetime] = []  # when each lane is free again
        bars = []
        for booking in items:
            lane = next((i for i, free in enumerate(lanes) if free <= booking.start), None)
            if lane is None:
                lane = len(lanes)
                lanes.append(booking.end)
            else:
                lanes[lane] = booking.end
            x, w = scale.bar(max(booking.start, since), min(booking.end, until))
            y = top + lane * lane_h + 2
            bars.append(
                {
                    "booking": booking,
                    "x": x,
                    "w": w,
                    "y": y,
                    "text_x": round(x + 4, 1),
                    "text_y": y + 13,
                    "colour": PURPOSE_COLOURS.get(booking.purpose, "#6c757d"),
                    "label": booking.release.key if w > 70 else "",
                    "over": lane >= env.capacity,
                }
            )
        shown = max(env.capacity, len(lanes), 1)
        peak, _ = reservations.peak_overlap(items, since, until)
        return {
            "env": env,
            "bars": bars,
            "height": top + shown * lane_h + 4,
            "capacity_y": top + env.capacity * lane_h + 1,
            "lanes": [top + i * lane_h + 1 for i in range(shown)],
            "lane_h": lane_h - 2,
            "peak": peak,
            "count": len(items),
        }


# --- test data sets ---------------------------------------------------------------------------


class TestDataSetListView(RoleRequiredMixin, View):
    __test__ = False  # not a pytest test class
    permission_required = "scheduling.view_testdataset"

    def get(self, request):
        filterset = TestDataSetFilterSet(
            request.GET or None,
            queryset=TestDataSet.objects.prefetch_related("environments").order_by("name"),
        )
        page = paginate(request, filterset.qs)
        now = timezone.now()
        in_use = dict(
            Reservation.objects.filter(
                cancelled_at__isnull=True,
                start__lte=now,
                end__gt=now,
                test_data_sets__in=[d.pk for d in page],
            )
            .select_related("release")
            .values_list("test_data_sets", "release__key")
        )
        for data_set in page:
            data_set.in_use_by = in_use.get(data_set.pk)
        context = {
            "page": page,
            "filter": filterset,
            "filter_form": style_filter_form(filterset.form),
            "environments": list(
                Environment.objects.filter(is_production=False)
                .order_by("order")
                .values_list("slug", "name")
            ),
        }
        return render(request, "scheduling/reservations/test_data_set_list.html", context)


class TestDataSetDetailView(RoleRequiredMixin, DetailView):
    __test__ = False
    permission_required = "scheduling.view_testdataset"
    model = TestDataSet
    slug_field = "slug"
    template_name = "scheduling/reservations/test_data_set_detail.html"
    context_object_name = "data_set"

    def get_queryset(self):
        return TestDataSet.objects.prefetch_related("environments")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        context["bookings"] = list(
            Reservation.objects.filter(
                test_data_sets=self.object, cancelled_at__isnull=True, end__gt=now
            )
            .select_related("environment", "release")
            .order_by("start")[:50]
        )
        context["history"] = history_rows(self.object)
        return context


class _TestDataSetSave(ModelFormSaveMixin):
    model = TestDataSet
    form_class = TestDataSetForm
    list_url_name = "test_data_set_list"

    def form_valid(self, form):
        super().form_valid(form)
        return redirect("test_data_set_detail", slug=self.object.slug)


class TestDataSetCreateView(RoleRequiredMixin, _TestDataSetSave, CreateView):
    __test__ = False
    permission_required = "scheduling.add_testdataset"
    cancel_url = reverse_lazy("test_data_set_list")


class TestDataSetUpdateView(RoleRequiredMixin, _TestDataSetSave, UpdateView):
    __test__ = False
    permission_required = "scheduling.change_testdataset"
    slug_field = "slug"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["cancel_url"] = reverse("test_data_set_detail", args=[self.object.slug])
        return context


# --- a release's validation needs and dependencies (from its Schedule tab) --------------------


def _form_errors(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


class ValidationNeedAddView(RoleRequiredMixin, View):
    permission_required = "scheduling.add_validationneed"

    def post(self, request, key):
        release = get_object_or_404(Release, key=key)
        form = ValidationNeedForm(request.POST, release=release)
        if not form.is_valid():
            messages.error(request, f"Validation need not added: {_form_errors(form)}")
            return redirect(_schedule_tab(release))
        need = form.save(commit=False)
        need.release = release
        with transaction.atomic():
            need.save_with_reason(
                f"{need.hours} h of validation in {need.environment.name}", request.user
            )
        messages.success(
            request, f"{release.key} needs {need.hours} h of validation in {need.environment.name}."
        )
        return redirect(_schedule_tab(release))


class ValidationNeedDeleteView(RoleRequiredMixin, View):
    permission_required = "scheduling.delete_validationneed"

    def post(self, request, pk):
        need = get_object_or_404(
            ValidationNeed.objects.select_related("release", "environment"), pk=pk
        )
        release = need.release
        need._change_reason = "removed"
        need._history_user = request.user
        need.delete()
        messages.success(
            request, f"{release.key} no longer needs validation in {need.environment.name}."
        )
        return redirect(_schedule_tab(release))


class ReleaseDependencyAddView(RoleRequiredMixin, View):
    permission_required = "scheduling.add_releasedependency"

    def post(self, request, key):
        release = get_object_or_404(Release, key=key)
        form = ReleaseDependencyForm(request.POST, release=release)
        if not form.is_valid():
            messages.error(request, f"Dependency not added: {_form_errors(form)}")
            return redirect(_schedule_tab(release))
        dependency = form.save(commit=False)
        dependency.release = release
        with transaction.atomic():
            dependency.save_with_reason(f"ships after {dependency.after.key}", request.user)
        messages.success(request, f"{release.key} now ships after {dependency.after.key}.")
        return redirect(_schedule_tab(release))


class ReleaseDependencyDeleteView(RoleRequiredMixin, View):
    permission_required = "scheduling.delete_releasedependency"

    def post(self, request, pk):
        dependency = get_object_or_404(
            ReleaseDependency.objects.select_related("release", "after"), pk=pk
        )
        release = dependency.release
        dependency._change_reason = "removed"
        dependency._history_user = request.user
        dependency.delete()
        messages.success(request, f"{release.key} no longer waits for {dependency.after.key}.")
        return redirect(_schedule_tab(release))


# --- sequencing ---------------------------------------------------------------------------------


def _quarter(request) -> tuple[str, datetime, datetime, str]:
    """The requested quarter (the current one by default) and an error for a bad one."""
    text = (request.GET.get("quarter") or request.POST.get("quarter") or "").strip()
    error = ""
    if text:
        try:
            since, until = sequencer.quarter_bounds(text)
            return text.upper(), since, until, ""
        except ValueError as exc:
            error = str(exc)
    text = sequencer.quarter_of(timezone.now())
    since, until = sequencer.quarter_bounds(text)
    return text, since, until, error


def _plan_for(since: datetime, until: datetime) -> sequencer.Plan:
    return sequencer.plan(
        sequencer.releases_for(since, until),
        Environment.objects.order_by("order"),
        sequencer.plan_start(since),
    )


def fingerprint(result: sequencer.Plan) -> str:
    """What the person saw: each release's proposed ship date (to refuse applying a stale plan)."""
    body = [
        (i.release.key, i.ship_start.isoformat() if i.ship_start else None) for i in result.releases
    ]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()[:16]


BAND_LABEL_CHARS = 48  # a longer window name is cut (the full one is in its tooltip)
BAND_LABEL_CHAR_W = 6.2  # a generous width of one character at font-size 10
BAND_LANE_H = 14


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _label_lanes(bands: list[dict], left: float, right: float) -> int:
    """Put each window's name under its band, in the first line where it overlaps no other name
    (a name that would run past the chart's right edge ends at it); returns the number of lines."""
    ends: list[float] = []
    seen: dict[str, dict] = {}
    for band in sorted(bands, key=lambda b: b["x"]):
        first = seen.setdefault(band["label"], band)
        if first is not band:  # a repeated window is named once, under its first occurrence
            first["times"] = first.get("times", 1) + 1
            band["label"] = ""
    for band in bands:
        if band.get("times"):
            suffix = f" ×{band['times']}"
            band["label"] = _short(band["label"], BAND_LABEL_CHARS - len(suffix)) + suffix
    for band in sorted(bands, key=lambda b: b["x"]):
        if not band["label"]:
            band["label_x"], band["lane"] = band["x"], 0
            continue
        width = len(band["label"]) * BAND_LABEL_CHAR_W
        x = min(band["x"] + 3, right - width)
        x = max(x, left + 3)
        band["label_x"] = round(x, 1)
        lane = next((i for i, end in enumerate(ends) if end + 8 <= x), len(ends))
        if lane == len(ends):
            ends.append(0.0)
        ends[lane] = x + width
        band["lane"] = lane
    return len(ends)


def gantt(result: sequencer.Plan) -> dict:
    """Geometry of the Gantt chart: one row per release, a bar per validation slot."""
    label_w, chart_w, row_h, top = 300, 880, 24, 34
    starts = [result.start]
    ends = [result.start + timedelta(days=7)]
    for item in result.releases:
        if item.ship_end:
            ends.append(item.ship_end)
        for deadline in (item.release.deadline, item.release.compliance_deadline):
            if deadline and deadline <= (result.finish or result.start) + timedelta(days=30):
                ends.append(deadline)
    since = min(starts)
    until = max(ends) + timedelta(days=1)
    scale = Scale(since, until, label_w, chart_w)
    colours = {e.pk: PALETTE[i % len(PALETTE)] for i, e in enumerate(result.environments)}
    rows = []
    for index, item in enumerate(result.releases):
        y = top + index * row_h
        release = item.release
        bars = []
        for slot in item.slots:
            x, w = scale.bar(slot.start, slot.end)
            bars.append(
                {
                    "x": x,
                    "w": w,
                    "colour": colours.get(slot.environment.pk, "#6c757d"),
                    "title": f"{release.key} in {slot.environment.name}: "
                    f"{timezone.localtime(slot.start):%Y-%m-%d %H:%M} → "
                    f"{timezone.localtime(slot.end):%Y-%m-%d %H:%M} ({slot.hours} h)",
                }
            )
        ship = None
        if item.ship_start:
            x, w = scale.bar(item.ship_start, item.ship_end, minimum=4)
            ship = {
                "x": x,
                "w": w,
                "title": f"{release.key} production deployment {item.ships}",
            }
        marks = []
        for deadline, met, kind in (
            (release.deadline, item.deadline_met, "deadline"),
            (release.compliance_deadline, item.compliance_deadline_met, "compliance deadline"),
        ):
            if deadline is None or deadline > until:
                continue
            marks.append(
                {
                    "x": scale.x(deadline),
                    "missed": met is False,
                    "compliance": kind != "deadline",
                    "title": f"{kind.capitalize()} {timezone.localtime(deadline):%Y-%m-%d %H:%M}"
                    + (" — missed" if met is False else ""),
                }
            )
        rows.append(
            {
                "item": item,
                "y": y,
                "bar_y": y + 5,
                "text_y": y + row_h / 2 + 4,
                "label": f"{release.key} {release.name}"[:40],
                "bars": bars,
                "ship": ship,
                "marks": marks,
            }
        )
    band_h = max(len(rows), 1) * row_h
    bands = []
    for band in result.windows:
        if band["end"] <= since or band["start"] >= until:
            continue
        x, w = scale.bar(max(band["start"], since), min(band["end"], until), minimum=2)
        where = ", ".join(band["environments"]) or "all environments"
        if band["scoped"]:
            where += ", some services"
        bands.append(
            {
                "x": x,
                "w": w,
                "label": _short(f"❄ {band['name']} ({where})", BAND_LABEL_CHARS),
                "title": f"{band['name']} ({where}): "
                f"{timezone.localtime(band['start']):%Y-%m-%d %H:%M} → "
                f"{timezone.localtime(band['end']):%Y-%m-%d %H:%M}; no slot starts inside it",
            }
        )
    lanes = _label_lanes(bands, label_w, label_w + chart_w)
    height = top + band_h + 4 + BAND_LANE_H * max(lanes, 1)  # the windows' names go under the rows
    for band in bands:
        band["label_y"] = top + band_h + BAND_LANE_H * (band["lane"] + 1)
    return {
        "bands": bands,
        "band_h": band_h,
        "rows": rows,
        "ticks": scale.ticks(),
        "width": label_w + chart_w + 10,
        "height": height,
        "label_w": label_w,
        "chart_right": label_w + chart_w,
        "top": top,
        "row_h": row_h,
        "bar_h": row_h - 10,
        "legend": [(e.name, colours[e.pk]) for e in result.environments if not e.is_production],
        "since": since,
        "until": until,
    }


class SequencingView(RoleRequiredMixin, View):
    """A quarter's releases: proposed order and dates, a Gantt chart, and missed deadlines."""

    permission_required = "releases.view_release"

    def get(self, request):
        quarter, since, until, error = _quarter(request)
        if error:
            messages.error(request, f"{error} Showing {quarter}.")
        result = _plan_for(since, until)
        context = {
            "quarter": quarter,
            "previous": sequencer.shift_quarter(quarter, -1),
            "next_quarter": sequencer.shift_quarter(quarter, 1),
            "since": since,
            "until": until,
            "plan": result,
            "chart": gantt(result),
            "missed": result.missed,
            "fingerprint": fingerprint(result),
            "can_apply": request.user.has_perms(SequencingApplyView.permission_required),
        }
        return render(request, "scheduling/sequencing/sequencing.html", context)


class SequencingApplyView(RoleRequiredMixin, View):
    """Write the proposed ship dates into the releases' planned dates (reason "sequenced")."""

    # Sequencing a quarter is a release manager's job: they own the dependencies it follows.
    permission_required = ("releases.change_release", "scheduling.change_releasedependency")

    def post(self, request):
        quarter, since, until, error = _quarter(request)
        target = reverse("sequencing") + "?" + urlencode({"quarter": quarter})
        if error:
            messages.error(request, error + " Nothing was changed.")
            return redirect(target)
        result = _plan_for(since, until)
        if request.POST.get("fingerprint") != fingerprint(result):
            messages.error(
                request,
                "The plan changed since you looked at it (releases, needs or bookings were "
                "edited). Review the new proposal; nothing was changed.",
            )
            return redirect(target)
        try:
            changed = sequencer.apply(result, request.user)
        except NotPermitted as exc:
            raise PermissionDenied(exc.message) from exc
        if changed:
            messages.success(
                request,
                f"Planned dates of {len(changed)} release(s) set from the sequence "
                f"({', '.join(r.key for r in changed[:10])}{'…' if len(changed) > 10 else ''}); "
                "each change is in its history as “sequenced”.",
            )
        else:
            messages.info(request, "Every release already has the proposed dates.")
        return redirect(target)
