"""CAB pages: the board, the meetings list, a meeting (agenda, votes, chair actions), the form.

The rules are in ``governance.cab``; these views parse input, call it, and show its answer.
Votes are posted with htmx (the agenda row is re-rendered) or as a plain form.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from governance import cab
from governance.choices import AgendaOutcome, MeetingStatus, VoteChoice
from governance.filtersets_cab import CabMeetingFilterSet
from governance.forms_cab import (
    APPROVE_WITH_CONDITIONS,
    CabMeetingForm,
    CloseForm,
    DeferForm,
    VoteForm,
)
from governance.models import AgendaItem, Approval, CabMeeting, Vote
from releasemgr.decisions import DomainError, NotPermitted
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Release

PER_PAGE = 25
VIEW = "governance.view_cabmeeting"


def _status_for(exc: DomainError) -> int:
    return exc.status_code


# --- the board -------------------------------------------------------------------------------


class CabBoardView(RoleRequiredMixin, View):
    """What awaits me, what I decided, my next meetings, emergency changes awaiting."""

    permission_required = VIEW

    def get(self, request):
        user = request.user
        awaiting, more = cab.awaiting_for(user)
        emergency = list(cab.emergency_awaiting()[:PER_PAGE])
        on_agenda = cab.open_items_by_release(r.pk for r in [*awaiting, *emergency])
        for release in [*awaiting, *emergency]:
            release.cab_item = on_agenda.get(release.pk)
            release.risk_score, release.risk_band = cab.risk_of(release, live=False)
        context = {
            "awaiting": awaiting,
            "awaiting_more": more,
            "emergency": emergency,
            "approvals": list(
                Approval.objects.filter(approver=user)
                .select_related("release", "agenda_item__meeting")
                .order_by("-created")[:10]
            ),
            "votes": list(
                Vote.objects.filter(voter=user)
                .select_related("item__release", "item__meeting")
                .order_by("-created")[:10]
            ),
            "meetings": list(cab.next_meetings_for(user)),
            "can_schedule": user.has_perm("governance.add_cabmeeting"),
        }
        return render(request, "governance/cab_board.html", context)


# --- meetings list ---------------------------------------------------------------------------


class CabMeetingListView(RoleRequiredMixin, View):
    permission_required = VIEW

    def get(self, request):
        queryset = CabMeeting.objects.select_related("chair").annotate(
            item_count=Count("items", distinct=True),
            pending_count=Count(
                "items", filter=Q(items__outcome=AgendaOutcome.PENDING), distinct=True
            ),
        )
        filterset = CabMeetingFilterSet(request.GET or None, queryset=queryset)
        page = paginate(request, filterset.qs.order_by("-scheduled_at", "-pk"), PER_PAGE)
        form = style_filter_form(filterset.form)
        for name in ("scheduled_after", "scheduled_before"):
            form.fields[name].widget = forms.DateTimeInput(
                attrs={"class": "form-control form-control-sm", "type": "datetime-local"},
                format="%Y-%m-%dT%H:%M",
            )
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "can_schedule": request.user.has_perm("governance.add_cabmeeting"),
        }
        template = (
            "governance/cab_meeting_table.html"
            if is_htmx(request)
            else "governance/cab_meeting_list.html"
        )
        return render(request, template, context)


# --- one meeting ---------------------------------------------------------------------------


def _meeting_or_404(pk) -> CabMeeting:
    return get_object_or_404(
        CabMeeting.objects.select_related("chair").prefetch_related("attendees"), pk=pk
    )


def _items(meeting: CabMeeting) -> list[AgendaItem]:
    return list(
        meeting.items.select_related("release__author")
        .prefetch_related("votes__voter", "release__risk_assessments")
        .order_by("position", "pk")
    )


def _decorate(item: AgendaItem, meeting: CabMeeting, user, attendee: bool) -> AgendaItem:
    item.risk_score, item.risk_band = cab.risk_of(item.release)
    votes = list(item.votes.all())
    item.my_vote = next((v for v in votes if v.voter_id == user.pk), None)
    item.can_vote = (
        attendee
        and meeting.status == MeetingStatus.IN_PROGRESS
        and item.outcome == AgendaOutcome.PENDING
        and item.my_vote is None
    )
    return item


def _detail_context(request, meeting: CabMeeting, **extra) -> dict:
    user = request.user
    attendee = cab.is_attendee(meeting, user)
    runner = cab.may_run(meeting, user)
    items = [_decorate(i, meeting, user, attendee) for i in _items(meeting)]
    is_open = meeting.status in cab.OPEN_STATUSES
    context = {
        "meeting": meeting,
        "items": items,
        "attendees": sorted(meeting.attendees.all(), key=lambda u: u.get_username()),
        "is_attendee": attendee,
        "may_run": runner,
        "is_open": is_open,
        "candidates": cab.agenda_candidates(meeting) if runner and is_open else [],
        "close_form": _close_form(meeting, runner),
        "history": history_rows(meeting),
    }
    if meeting.status in (MeetingStatus.IN_PROGRESS, MeetingStatus.CLOSED):
        context["held_at"] = cab.held_at(meeting)
        context["held_early"] = cab.early_by(meeting, context["held_at"]) is not None
    context.update(extra)
    return context


def _close_form(meeting: CabMeeting, runner: bool) -> CloseForm | None:
    """The chair's close form, its minutes drafted from the votes and outcomes so far."""
    if not runner or meeting.status != MeetingStatus.IN_PROGRESS:
        return None
    return CloseForm(initial={"minutes": cab.draft_minutes(meeting)})


def render_detail(request, meeting, status=200, **extra):
    return render(
        request,
        "governance/cab_meeting_detail.html",
        _detail_context(request, meeting, **extra),
        status=status,
    )


class CabMeetingDetailView(RoleRequiredMixin, View):
    permission_required = VIEW

    def get(self, request, pk):
        return render_detail(request, _meeting_or_404(pk))


class _MeetingAction(RoleRequiredMixin, View):
    """POST a chair action; the decision module says who may (403) and when (409)."""

    permission_required = VIEW

    def act(self, request, meeting) -> str:
        raise NotImplementedError

    def post(self, request, pk):
        meeting = _meeting_or_404(pk)
        try:
            text = self.act(request, meeting)
        except DomainError as exc:
            messages.error(request, exc.message)
            return render_detail(request, _meeting_or_404(pk), status=_status_for(exc))
        messages.success(request, text)
        return redirect(meeting)


class CabAgendaView(_MeetingAction):
    """Add one release (``release`` = key) or, without it, every candidate."""

    def act(self, request, meeting):
        key = request.POST.get("release", "").strip()
        if key:
            release = Release.objects.filter(key=key).first()
            if release is None:
                raise cab.InvalidInput(f"There is no release '{key}'.")
            cab.add_item(meeting, release, request.user)
            return f"{release.key} added to the agenda."
        added = cab.build_agenda(meeting, request.user)
        if not added:
            return "No releases are waiting to be added; the agenda is unchanged."
        return f"{len(added)} release(s) added to the agenda: " + ", ".join(
            i.release.key for i in added
        )


class CabReorderView(_MeetingAction):
    def act(self, request, meeting):
        """``items`` lists every item in the new order, or ``move`` an item ``up`` or ``down``."""
        ids = request.POST.getlist("items")
        move = request.POST.get("move", "")
        if move:
            ids = [
                str(pk)
                for pk in meeting.items.order_by("position", "pk").values_list("pk", flat=True)
            ]
            if move not in ids:
                raise cab.InvalidInput("That item is not on this agenda.")
            at = ids.index(move)
            to = at - 1 if request.POST.get("direction") == "up" else at + 1
            if 0 <= to < len(ids):
                ids[at], ids[to] = ids[to], ids[at]
        if not all(i.isdigit() for i in ids):
            raise cab.InvalidInput("Agenda items are given by their numbers.")
        cab.reorder(meeting, request.user, ids)
        return "Agenda reordered."


class CabStartView(_MeetingAction):
    def act(self, request, meeting):
        early = cab.early_by(meeting)
        cab.start(meeting, request.user)
        if early is not None:
            messages.warning(
                request,
                f"'{meeting.title}' was scheduled for "
                f"{timezone.localtime(meeting.scheduled_at):%a %Y-%m-%d %H:%M %Z}, "
                f"{_duration(early)} from now: it starts early. The minutes record the time "
                "it was really held.",
            )
        return f"'{meeting.title}' is in progress: attendees can vote."


def _duration(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes and not days else []
    return " ".join(parts) or "less than a minute"


class CabCancelView(_MeetingAction):
    def act(self, request, meeting):
        cab.cancel(meeting, request.user)
        return f"'{meeting.title}' cancelled; its releases return to the next agenda."


class CabCloseView(RoleRequiredMixin, View):
    permission_required = VIEW

    def post(self, request, pk):
        meeting = _meeting_or_404(pk)
        form = CloseForm(request.POST)
        try:
            cab.require_runner(meeting, request.user, "close the meeting")
            if not form.is_valid():
                raise cab.InvalidInput(
                    "Write the minutes before closing (start from the draft).",
                )
            cab.close(meeting, request.user, form.cleaned_data["minutes"])
        except DomainError as exc:
            messages.error(request, exc.message)
            fresh = _meeting_or_404(pk)
            extra = {"close_form": form} if cab.may_run(fresh, request.user) else {}
            return render_detail(request, fresh, status=_status_for(exc), **extra)
        messages.success(request, f"'{meeting.title}' closed; the minutes are recorded.")
        return redirect(meeting)


# --- agenda items ----------------------------------------------------------------------------


def _item_or_404(pk) -> AgendaItem:
    return get_object_or_404(AgendaItem.objects.select_related("meeting", "release"), pk=pk)


def _row(request, item_pk, *, error="", notice="", status=200):
    item = _item_or_404(item_pk)
    meeting = _meeting_or_404(item.meeting_id)
    attendee = cab.is_attendee(meeting, request.user)
    runner = cab.may_run(meeting, request.user)
    fresh = next(i for i in _items(meeting) if i.pk == item.pk)
    return render(
        request,
        "governance/cab_agenda_row.html",
        {
            "item": _decorate(fresh, meeting, request.user, attendee),
            "meeting": meeting,
            "may_run": runner,
            "is_open": meeting.status in cab.OPEN_STATUSES,
            "row_error": error,
            "row_notice": notice,
            # The chair's draft minutes on the same page would miss this vote: send them again.
            "close_oob": _close_form(meeting, runner),
        },
        status=status,
    )


class CabVoteView(RoleRequiredMixin, View):
    """POST choice (approve/reject/abstain), conditions, comment. htmx gets the row back."""

    permission_required = VIEW

    def post(self, request, pk):
        item = _item_or_404(pk)
        form = VoteForm(request.POST)
        try:
            cab.require_attendee(item.meeting, request.user)
            if not form.is_valid():
                raise cab.InvalidInput(
                    "Choose approve, reject or abstain; conditions and comments have "
                    "2,000 characters at most."
                )
            data = form.cleaned_data
            choice = data["choice"]
            if choice == APPROVE_WITH_CONDITIONS:
                if not data["conditions"].strip():
                    raise cab.InvalidInput("Write the conditions the approval carries.")
                choice = VoteChoice.APPROVE
            cab.cast_vote(
                item,
                request.user,
                choice,
                conditions=data["conditions"],
                comment=data["comment"],
            )
        except DomainError as exc:
            if is_htmx(request):
                return _row(request, pk, error=exc.message)
            messages.error(request, exc.message)
            return render_detail(request, _meeting_or_404(item.meeting_id), status=exc.status_code)
        release = Release.objects.get(pk=item.release_id)
        text = f"Your vote on {release.key} is recorded. " + cab.where_it_stands(release)
        if is_htmx(request):
            return _row(request, pk, notice=text)
        messages.success(request, text)
        return redirect(item)


class CabDeferView(RoleRequiredMixin, View):
    permission_required = VIEW

    def post(self, request, pk):
        item = _item_or_404(pk)
        form = DeferForm(request.POST)
        try:
            cab.require_runner(item.meeting, request.user, "defer an item")
            reason = (
                form.data.get("reason", "") if not form.is_valid() else form.cleaned_data["reason"]
            )
            cab.defer(item, request.user, reason)
        except DomainError as exc:
            if is_htmx(request):
                return _row(request, pk, error=exc.message)
            messages.error(request, exc.message)
            return render_detail(request, _meeting_or_404(item.meeting_id), status=exc.status_code)
        text = f"{item.release.key} deferred to the next meeting."
        if is_htmx(request):
            return _row(request, pk, notice=text)
        messages.success(request, text)
        return redirect(item)


class CabItemRemoveView(RoleRequiredMixin, View):
    permission_required = VIEW

    def post(self, request, pk):
        item = _item_or_404(pk)
        try:
            cab.remove_item(item, request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
            return render_detail(request, _meeting_or_404(item.meeting_id), status=exc.status_code)
        messages.success(request, f"{item.release.key} removed from the agenda.")
        return redirect(item.meeting)


# --- create / edit ---------------------------------------------------------------------------


class CabMeetingFormView(RoleRequiredMixin, View):
    template_name = "governance/cab_meeting_form.html"

    def get_permission_required(self):
        pk = self.kwargs.get("pk")
        return ["governance.change_cabmeeting" if pk else "governance.add_cabmeeting"]

    def _meeting(self, pk):
        return _meeting_or_404(pk) if pk else None

    def _render(self, request, form, meeting, status=200):
        return render(
            request, self.template_name, {"form": form, "meeting": meeting}, status=status
        )

    def get(self, request, pk=None):
        meeting = self._meeting(pk)
        if meeting is not None and meeting.status not in cab.OPEN_STATUSES:
            messages.error(
                request,
                f"The meeting is {meeting.get_status_display().lower()}; it no longer changes.",
            )
            return redirect(meeting)
        initial = {}
        if meeting is None:
            start = timezone.localtime().replace(minute=0, second=0, microsecond=0)
            initial = {
                "scheduled_at": start + timedelta(days=1),
                "chair": request.user.pk,
                "title": "Weekly CAB",
            }
        form = CabMeetingForm(instance=meeting, initial=initial)
        return self._render(request, form, meeting)

    def post(self, request, pk=None):
        meeting = self._meeting(pk)
        form = CabMeetingForm(request.POST, instance=meeting)
        if not form.is_valid():
            return self._render(request, form, meeting)
        try:
            saved = cab.save_meeting(
                form.save(commit=False),
                request.user,
                form.cleaned_data["attendees"],
                creating=meeting is None,
            )
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return self._render(request, form, meeting, status=403)
        except DomainError as exc:
            form.add_domain_errors(exc)
            return self._render(request, form, meeting)
        messages.success(request, f"'{saved.title}' {'updated' if meeting else 'scheduled'}.")
        return redirect(saved)
