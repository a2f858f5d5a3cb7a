"""Freeze exception pages: the queue, one exception (decide / withdraw), and the request form.

The rules are in ``scheduling.freeze_exceptions``; these views parse input, call it, and
show its answer (its reasons when it says no).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from releasemgr.decisions import DomainError, IllegalTransition, NotPermitted
from releasemgr.forms import BootstrapFormMixin, DateTimeInput
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Release
from scheduling import freeze_exceptions
from scheduling.choices import BLOCKING_KINDS, ExceptionStatus, RiskLevel
from scheduling.filtersets_exceptions import FreezeExceptionFilterSet, queue_order
from scheduling.models import FreezeException, FreezeWindow
from scheduling.windows import LOOKAHEAD, candidate_windows, occurrences

PER_PAGE = 25


def _with_related(queryset):
    return queryset.select_related("release", "window", "requested_by", "decided_by")


def _window_label(window: FreezeWindow) -> str:
    when = f"{window.start:%Y-%m-%d %H:%M}"
    if window.rrule:
        when = f"recurring from {when}"
    return f"{window.name} ({window.get_kind_display().split(' (')[0].lower()}, {when})"


# --- forms -----------------------------------------------------------------------------------


class WindowChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _window_label(obj)


class ReleaseChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.key} {obj.name} ({obj.get_state_display().lower()})"


class ExceptionRequestForm(BootstrapFormMixin, forms.Form):
    """Parses the request; ``freeze_exceptions.request`` decides whether it makes sense."""

    release = ReleaseChoiceField(
        queryset=Release.objects.exclude(state__in=freeze_exceptions.FINISHED_STATES).order_by(
            "-created"
        ),
        to_field_name="key",
        empty_label="Choose a release…",
        error_messages={"invalid_choice": "Unknown or finished release; pick one from the list."},
    )
    window = WindowChoiceField(
        queryset=FreezeWindow.objects.filter(kind__in=BLOCKING_KINDS),
        empty_label="Choose the window…",
        error_messages={"invalid_choice": "Pick a freeze or blackout window from the list."},
        help_text="Only the freezes and blackouts that stop this release are listed.",
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        help_text="Why the release cannot wait for the window to end.",
    )
    risk = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        help_text="What could go wrong and how it is contained (rollback, monitoring, timing).",
    )
    risk_level = forms.ChoiceField(choices=RiskLevel.choices, initial=RiskLevel.MEDIUM)
    valid_from = forms.DateTimeField(widget=DateTimeInput(), label="Valid from")
    valid_until = forms.DateTimeField(
        widget=DateTimeInput(),
        label="Valid until",
        help_text=f"At most {freeze_exceptions.MAX_DURATION.days} days after the start.",
    )

    def __init__(self, *args, window_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if window_choices is not None:
            self.fields["window"].queryset = window_choices
        zone = timezone.get_current_timezone_name()
        self.fields["valid_from"].help_text = f"Time zone: {zone}."

    def add_domain_errors(self, exc: DomainError) -> None:
        """Put each of the decision's reasons on the field it is about (or on the form)."""
        for reason in exc.reasons or []:
            field = (reason.data or {}).get("field")
            self.add_error(field if field in self.fields else None, reason.message)
        if not exc.reasons:
            self.add_error(None, exc.message)


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )


# --- list ------------------------------------------------------------------------------------


class ExceptionListView(RoleRequiredMixin, View):
    """The queue: pending first (expedited first among them), then decided ones."""

    permission_required = "scheduling.view_freezeexception"

    def get(self, request):
        filterset = FreezeExceptionFilterSet(
            request.GET or None,
            queryset=queue_order(_with_related(FreezeException.objects.all())),
        )
        page = paginate(request, filterset.qs, PER_PAGE)
        now = timezone.now()
        for exception in page:
            exception.validity = freeze_exceptions.validity(exception, now)
        form = style_filter_form(filterset.form)
        # Short lists for the filter bar; the release filter is a key typed in.
        form.fields["release"].widget = forms.TextInput(
            attrs={"class": "form-control form-control-sm", "placeholder": "REL-…"}
        )
        form.fields["window"].queryset = FreezeWindow.objects.filter(
            kind__in=BLOCKING_KINDS, exceptions__isnull=False
        ).distinct()
        form.fields["window"].label_from_instance = _window_label
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "pending_count": FreezeException.objects.filter(status=ExceptionStatus.PENDING).count(),
            "now": now,
        }
        template = (
            "scheduling/exceptions/_exception_table.html"
            if is_htmx(request)
            else "scheduling/exceptions/exception_list.html"
        )
        return render(request, template, context)


# --- detail, decide, withdraw ------------------------------------------------------------------


def _detail_context(request, exception: FreezeException, **extra) -> dict:
    user = request.user
    now = timezone.now()
    window = exception.window
    covered = occurrences(window, exception.valid_from, exception.valid_until)
    pending = exception.status == ExceptionStatus.PENDING
    verdict = freeze_exceptions.may_decide(exception, user, now) if pending else None
    context = {
        "exception": exception,
        "release": exception.release,
        "window": window,
        "covered": covered,
        "validity": freeze_exceptions.validity(exception, now),
        "verdict": verdict,
        "can_decide": bool(verdict and verdict.allowed),
        "can_withdraw": pending and exception.requested_by_id == user.pk,
        "decision_form": DecisionForm(),
        "history": history_rows(exception),
        "now": now,
    }
    context.update(extra)
    return context


def _exception_or_404(pk) -> FreezeException:
    return get_object_or_404(
        _with_related(FreezeException.objects.all()).prefetch_related(
            "window__services", "window__environments", "window__regions"
        ),
        pk=pk,
    )


def render_detail(request, exception, status=200, **extra):
    return render(
        request,
        "scheduling/exceptions/exception_detail.html",
        _detail_context(request, exception, **extra),
        status=status,
    )


class ExceptionDetailView(RoleRequiredMixin, View):
    permission_required = "scheduling.view_freezeexception"

    def get(self, request, pk):
        return render_detail(request, _exception_or_404(pk))


class ExceptionDecideView(RoleRequiredMixin, View):
    """POST approve or reject, with a comment. Wrong person → 403 with the reasons."""

    permission_required = "scheduling.decide_freezeexception"

    def post(self, request, pk):
        exception = _exception_or_404(pk)
        form = DecisionForm(request.POST)
        if not form.is_valid():
            messages.error(
                request, "Choose approve or reject; a comment has 2,000 characters at most."
            )
            return render_detail(request, exception, status=400, decision_form=form)
        approve = form.cleaned_data["decision"] == "approve"
        try:
            decided = freeze_exceptions.decide(
                exception, request.user, approve=approve, comment=form.cleaned_data["comment"]
            )
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return render_detail(request, _exception_or_404(pk), status=403, decision_form=form)
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return render_detail(request, _exception_or_404(pk), status=409)
        verb = "approved" if approve else "rejected"
        messages.success(
            request,
            f"Exception #{decided.pk} {verb}: {decided.release.key} "
            + (
                f"may deploy during '{decided.window.name}' until "
                f"{timezone.localtime(decided.valid_until):%Y-%m-%d %H:%M %Z}."
                if approve
                else f"stays stopped by '{decided.window.name}'."
            ),
        )
        return redirect(decided)


class ExceptionWithdrawView(RoleRequiredMixin, View):
    """POST: the requester takes back a pending request."""

    permission_required = "scheduling.add_freezeexception"

    def post(self, request, pk):
        exception = _exception_or_404(pk)
        try:
            withdrawn = freeze_exceptions.withdraw(exception, request.user)
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return render_detail(request, exception, status=403)
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return render_detail(request, _exception_or_404(pk), status=409)
        messages.success(request, f"Exception #{withdrawn.pk} withdrawn.")
        return redirect(withdrawn)


# --- request ------------------------------------------------------------------------------------


class ExceptionCreateView(RoleRequiredMixin, View):
    """``/exceptions/new/?release=<key>&window=<id>``: both optional, pre-filled when given.

    With a release chosen, the window list holds only the freezes and blackouts that stop
    it in the next months; changing the release reloads the form (htmx).
    """

    permission_required = "scheduling.add_freezeexception"
    template_name = "scheduling/exceptions/exception_form.html"

    def _release(self, key):
        if not key:
            return None
        return Release.objects.filter(key=key).first()

    def _window(self, window_id):
        if not window_id or not str(window_id).isdigit():
            return None
        return (
            FreezeWindow.objects.filter(pk=window_id)
            .prefetch_related("services", "environments", "teams", "regions")
            .first()
        )

    def _choices(self, release, now):
        """Windows offered for ``release``, with the occurrence each would be used in."""
        if release is None:
            windows = [
                w
                for w in candidate_windows(now, now + LOOKAHEAD, BLOCKING_KINDS)
                if occurrences(w, now, now + LOOKAHEAD)
            ]
            return [w.pk for w in windows], {}
        blocking = freeze_exceptions.blocking_windows(release, now, now + LOOKAHEAD)
        return [b.window.pk for b in blocking], {b.window.pk: b.first for b in blocking}

    def _render(self, request, form, release, window, notes, status=200):
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "release": release,
                "window": window,
                "notes": notes,
                "expedited": bool(release and freeze_exceptions.is_expedited(release)),
                "max_days": freeze_exceptions.MAX_DURATION.days,
            },
            status=status,
        )

    def get(self, request):
        now = timezone.now()
        release = self._release(request.GET.get("release"))
        window = self._window(request.GET.get("window"))
        notes = []
        if request.GET.get("release") and release is None:
            notes.append(f"There is no release '{request.GET['release']}'; choose one below.")
        if release is not None and release.state in freeze_exceptions.FINISHED_STATES:
            notes.append(
                f"{release.key} is {release.get_state_display().lower()}; it will not deploy "
                "again, so it needs no exception."
            )
            release = None
        ids, firsts = self._choices(release, now)
        if window is not None and window.pk not in ids:
            if release is not None:
                notes.append(
                    f"'{window.name}' does not stop {release.key} in the next "
                    f"{LOOKAHEAD.days} days, so it needs no exception for it."
                )
            elif window.kind not in BLOCKING_KINDS:
                notes.append(f"'{window.name}' is not a freeze or blackout; it blocks nothing.")
            else:
                notes.append(
                    f"'{window.name}' has no occurrence in the next {LOOKAHEAD.days} days."
                )
            window = None
        if window is None and release is not None and len(ids) == 1:
            window = FreezeWindow.objects.get(pk=ids[0])
        initial = {"risk_level": RiskLevel.MEDIUM}
        if release is not None:
            initial["release"] = release.key
        if window is not None:
            initial["window"] = window.pk
            valid_from, valid_until = freeze_exceptions.suggested_validity(window, now)
            occ = firsts.get(window.pk)
            if occ is not None:
                valid_from = max(valid_from, occ.start)
            initial["valid_from"] = timezone.localtime(valid_from)
            initial["valid_until"] = timezone.localtime(max(valid_until, valid_from))
        if release is not None and not ids:
            notes.append(
                f"No freeze or blackout stops {release.key} in the next {LOOKAHEAD.days} days."
            )
        form = ExceptionRequestForm(
            initial=initial,
            window_choices=FreezeWindow.objects.filter(pk__in=ids).order_by("start"),
        )
        return self._render(request, form, release, window, notes)

    def post(self, request):
        form = ExceptionRequestForm(request.POST)
        release = self._release(request.POST.get("release"))
        window = self._window(request.POST.get("window"))
        valid = form.is_valid()
        if release is not None:
            # Shown again: the windows that stop this release, plus the one chosen.
            ids, _firsts = self._choices(release, timezone.now())
            form.fields["window"].queryset = FreezeWindow.objects.filter(
                pk__in=[*ids, *([window.pk] if window else [])]
            ).order_by("start")
        if not valid:
            return self._render(request, form, release, window, [])
        data = form.cleaned_data
        try:
            exception = freeze_exceptions.request(
                data["release"],
                data["window"],
                request.user,
                justification=data["justification"],
                risk=data["risk"],
                risk_level=data["risk_level"],
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
            )
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return self._render(request, form, release, window, [], status=403)
        except DomainError as exc:
            form.add_domain_errors(exc)
            return self._render(request, form, release, window, [])
        messages.success(
            request,
            f"Exception #{exception.pk} requested for {exception.release.key} in "
            f"'{exception.window.name}'"
            + (" (expedited)" if exception.expedited else "")
            + "; a CAB member or release manager in another role decides it.",
        )
        return redirect(exception)
