"""Scope negotiation pages: the request list and detail, requesting from the release page,
the product owner's accept/decline, tech-debt estimates and the maintenance backlog.
The rules are in ``releases.scope_changes``."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from releasemgr.decisions import IllegalTransition, NotPermitted
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases import scope_changes
from releases.filtersets_scope_changes import ScopeChangeRequestFilterSet
from releases.forms_scope_changes import (
    DecideForm,
    ScopeChangeRequestForm,
    TakeForm,
    TechDebtEstimateForm,
)
from releases.models import Release, ScopeChangeRequest, ScopeItem, TechDebtEstimate
from releases.models.scope_changes import ScopeChangeStatus

PER_PAGE = 25


def _scope_url(release) -> str:
    return reverse("release_detail", args=[release.key]) + "#scope"


def _errors(exc) -> str:
    return " ".join(r.message for r in exc.reasons) or exc.message


class ScopeChangeListView(RoleRequiredMixin, View):
    permission_required = "releases.view_scopechangerequest"

    def get(self, request):
        filterset = ScopeChangeRequestFilterSet(
            request.GET or None,
            queryset=ScopeChangeRequest.objects.select_related(
                "release", "requested_by", "decided_by"
            ),
        )
        page = paginate(request, filterset.qs, PER_PAGE)
        return render(
            request,
            "releases/scope_change_list.html",
            {
                "page": page,
                "filter_form": style_filter_form(filterset.form),
                "filter_errors": filterset.errors if filterset.is_bound else {},
            },
        )


def _detail(request, change, status=200, **extra):
    user = request.user
    pending = change.status == ScopeChangeStatus.PENDING
    verdict = (
        scope_changes.may_decide(change, user)
        if pending and user.has_perm(scope_changes.DECIDE_PERMISSION)
        else None
    )
    context = {
        "change": change,
        "release": change.release,
        "verdict": verdict,
        "decide_form": extra.pop("decide_form", DecideForm()),
        "can_withdraw": pending and change.requested_by_id == user.pk,
        "history": history_rows(change),
        **extra,
    }
    return render(request, "releases/scope_change_detail.html", context, status=status)


def _change_or_404(pk):
    return get_object_or_404(
        ScopeChangeRequest.objects.select_related(
            "release", "requested_by", "decided_by", "service", "scope_item", "emergency_release"
        ),
        pk=pk,
    )


class ScopeChangeDetailView(RoleRequiredMixin, View):
    permission_required = "releases.view_scopechangerequest"

    def get(self, request, pk):
        return _detail(request, _change_or_404(pk))


class ScopeChangeCreateView(RoleRequiredMixin, View):
    """GET the request form for a release; POST files the request (back to the Scope tab)."""

    permission_required = scope_changes.REQUEST_PERMISSION

    def _render(self, request, release, form, status=200):
        return render(
            request,
            "releases/scope_change_form.html",
            {"release": release, "form": form},
            status=status,
        )

    def get(self, request, key):
        release = get_object_or_404(Release, key=key)
        return self._render(request, release, ScopeChangeRequestForm(release=release))

    def post(self, request, key):
        release = get_object_or_404(Release, key=key)
        form = ScopeChangeRequestForm(request.POST, release=release)
        if not form.is_valid():
            return self._render(request, release, form, status=400)
        try:
            change = scope_changes.request_change(release, request.user, **form.cleaned_data)
        except scope_changes.InvalidInput as exc:
            for reason in exc.reasons:
                field = reason.data.get("field")
                form.add_error(field if field in form.fields else None, reason.message)
            return self._render(request, release, form, status=400)
        messages.success(
            request, f"Scope change #{change.pk} requested; the product owner decides."
        )
        return redirect(_scope_url(release))


class ScopeChangeDecideView(RoleRequiredMixin, View):
    """POST accept or decline with a note (the release's product owner only)."""

    permission_required = scope_changes.DECIDE_PERMISSION

    def post(self, request, pk):
        change = _change_or_404(pk)
        form = DecideForm(request.POST)
        if not form.is_valid():
            messages.error(
                request, "Choose accept or decline; a note has 2,000 characters at most."
            )
            return _detail(request, change, status=400, decide_form=form)
        accept = form.cleaned_data["decision"] == "accept"
        try:
            decided = scope_changes.decide(change, request.user, accept, form.cleaned_data["note"])
        except scope_changes.InvalidInput as exc:
            messages.error(request, _errors(exc))
            return _detail(request, change, status=400, decide_form=form)
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return _detail(request, change, status=403, decide_form=form)
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return _detail(request, _change_or_404(pk), status=409)
        messages.success(request, f"Scope change #{decided.pk} {decided.status}.")
        return redirect(_scope_url(decided.release))


class ScopeChangeWithdrawView(RoleRequiredMixin, View):
    permission_required = scope_changes.REQUEST_PERMISSION

    def post(self, request, pk):
        change = _change_or_404(pk)
        try:
            scope_changes.withdraw(change, request.user)
        except (NotPermitted, IllegalTransition) as exc:
            messages.error(request, exc.message)
            return _detail(request, _change_or_404(pk), status=exc.status_code)
        messages.success(request, f"Scope change #{change.pk} withdrawn.")
        return redirect(change)


class TechDebtEstimateView(RoleRequiredMixin, View):
    """Estimate a tech-debt item: effort in days and risk reduction 1 to 5."""

    permission_required = ("releases.add_techdebtestimate", "releases.change_techdebtestimate")

    def _objects(self, pk):
        item = get_object_or_404(ScopeItem.objects.select_related("release"), pk=pk)
        return item, TechDebtEstimate.objects.filter(scope_item=item).first()

    def _render(self, request, item, form, status=200):
        return render(
            request,
            "releases/scope_change_estimate_form.html",
            {"item": item, "release": item.release, "form": form},
            status=status,
        )

    def get(self, request, pk):
        item, estimate = self._objects(pk)
        return self._render(request, item, TechDebtEstimateForm(instance=estimate))

    def post(self, request, pk):
        item, estimate = self._objects(pk)
        form = TechDebtEstimateForm(
            request.POST, instance=estimate or TechDebtEstimate(scope_item=item)
        )
        if not form.is_valid():
            return self._render(request, item, form, status=400)
        saved = form.save(commit=False)
        saved.save_with_reason(
            "estimated" if estimate is None else "re-estimated", user=request.user
        )
        messages.success(request, f"Estimate saved for “{item.title}”.")
        return redirect(_scope_url(item.release))


class BacklogView(RoleRequiredMixin, View):
    permission_required = "releases.view_scopeitem"

    def get(self, request):
        page = paginate(request, scope_changes.maintenance_backlog(), PER_PAGE)
        can_take = request.user.has_perm(scope_changes.TAKE_PERMISSION)
        return render(
            request,
            "releases/backlog_list.html",
            {"page": page, "take_form": TakeForm() if can_take else None},
        )


class BacklogTakeView(RoleRequiredMixin, View):
    """POST: move a backlog item into a maintenance release."""

    permission_required = scope_changes.TAKE_PERMISSION

    def post(self, request, pk):
        item = get_object_or_404(ScopeItem, pk=pk)
        form = TakeForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a draft maintenance release.")
            return redirect("maintenance_backlog")
        try:
            taken = scope_changes.take_into_release(
                item, form.cleaned_data["release"], request.user, form.cleaned_data["note"]
            )
        except (scope_changes.InvalidInput, IllegalTransition) as exc:
            messages.error(request, _errors(exc))
            return redirect("maintenance_backlog")
        messages.success(request, f"“{taken.title}” taken into {taken.release.key}.")
        return redirect(_scope_url(taken.release))
