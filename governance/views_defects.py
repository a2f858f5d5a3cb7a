"""Late-defect pages: the defect list, one defect (edit, resolve), reporting one, residual-risk
acceptances (accept, revoke) and delaying a release.

The rules are in ``governance.defects``; these views parse input, call it and show its answer.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from governance import defects
from governance.filtersets_defects import DefectFilterSet, RiskAcceptanceFilterSet, blocking_ids
from governance.forms_defects import (
    AcceptanceForm,
    DefectForm,
    DelayForm,
    ResolveForm,
    RevokeForm,
)
from governance.models import Defect, RiskAcceptance
from releasemgr.decisions import DomainError, IllegalTransition, NotPermitted
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Release

PER_PAGE = 25


def _defects():
    return Defect.objects.select_related("release", "found_in", "reported_by")


def _acceptances():
    return RiskAcceptance.objects.select_related("release", "accepted_by", "revoked_by")


def _release(key) -> Release:
    return get_object_or_404(Release, key=key)


# --- defects ------------------------------------------------------------------------------------


class DefectListView(RoleRequiredMixin, View):
    permission_required = "governance.view_defect"

    def get(self, request):
        filterset = DefectFilterSet(
            request.GET or None,
            queryset=_defects().order_by(
                "status", "severity", "release__planned_start", "-created", "-pk"
            ),
        )
        page = paginate(request, filterset.qs, PER_PAGE)
        now = timezone.now()
        blocking = blocking_ids(page, now)
        for defect in page:
            defect.blocks = defect.pk in blocking
        form = style_filter_form(filterset.form)
        for name, placeholder in (("release", "REL-…"), ("service", "service slug")):
            form.fields[name].widget = forms.TextInput(
                attrs={"class": "form-control form-control-sm", "placeholder": placeholder}
            )
        form.fields["severity"].widget = forms.Select(
            choices=[("", "Any"), *form.fields["severity"].choices],
            attrs={"class": "form-select form-select-sm"},
        )
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "now": now,
        }
        template = (
            "governance/defect_table.html" if is_htmx(request) else "governance/defect_list.html"
        )
        return render(request, template, context)


def render_defect(request, defect, status=200, **extra):
    now = timezone.now()
    acceptances = list(
        defect.acceptances.select_related("accepted_by", "revoked_by").order_by("-created")
    )
    for acceptance in acceptances:
        acceptance.state = defects.acceptance_state(acceptance, now)
    context = {
        "defect": defect,
        "release": defect.release,
        "acceptances": acceptances,
        "blocks": defect.is_blocking
        and any(d.pk == defect.pk for d in defects.blocking_defects(defect.release, now)),
        "can_change": request.user.has_perm(defects.CHANGE_PERMISSION),
        "can_accept": request.user.has_perm(defects.ACCEPT_PERMISSION),
        "resolve_form": extra.pop("resolve_form", None) or ResolveForm(),
        "history": history_rows(defect),
    }
    context.update(extra)
    return render(request, "governance/defect_detail.html", context, status=status)


class DefectDetailView(RoleRequiredMixin, View):
    permission_required = "governance.view_defect"

    def get(self, request, pk):
        return render_defect(request, get_object_or_404(_defects(), pk=pk))


class DefectCreateView(RoleRequiredMixin, View):
    """``/governance/defects/new/?release=<key>``: report a defect (from the release page)."""

    permission_required = defects.ADD_PERMISSION
    template_name = "governance/defect_form.html"

    def get(self, request):
        release = Release.objects.filter(key=request.GET.get("release") or "").first()
        form = DefectForm(initial={"release": release.key} if release else {})
        return render(request, self.template_name, {"form": form, "release": release})

    def post(self, request):
        form = DefectForm(request.POST)
        release = Release.objects.filter(key=request.POST.get("release") or "").first()
        if form.is_valid():
            data = form.cleaned_data
            try:
                defect = defects.report_defect(
                    data["release"],
                    request.user,
                    title=data["title"],
                    severity=data["severity"],
                    description=data["description"],
                    reference=data["reference"],
                    found_in=data["found_in"],
                )
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(
                    request,
                    f"Defect #{defect.pk} recorded on {defect.release.key}"
                    + (" — it blocks the release at the gate." if defect.is_blocking else "."),
                )
                return redirect(defect)
        return render(request, self.template_name, {"form": form, "release": release}, status=400)


class DefectEditView(RoleRequiredMixin, View):
    permission_required = defects.CHANGE_PERMISSION
    template_name = "governance/defect_form.html"

    def get(self, request, pk):
        defect = get_object_or_404(_defects(), pk=pk)
        form = DefectForm(initial=DefectForm.initial_for(defect), editing=True)
        return render(request, self.template_name, {"form": form, "defect": defect})

    def post(self, request, pk):
        defect = get_object_or_404(_defects(), pk=pk)
        form = DefectForm(request.POST, editing=True)
        if form.is_valid():
            data = dict(form.cleaned_data)
            reason = data.pop("reason", "")
            try:
                defects.edit_defect(defect, request.user, reason, **data)
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(request, f"Defect #{defect.pk} saved.")
                return redirect(defect)
        context = {"form": form, "defect": defect}
        return render(request, self.template_name, context, status=400)


class DefectResolveView(RoleRequiredMixin, View):
    permission_required = defects.CHANGE_PERMISSION

    def post(self, request, pk):
        defect = get_object_or_404(_defects(), pk=pk)
        form = ResolveForm(request.POST)
        if not form.is_valid():
            return render_defect(request, defect, status=400, resolve_form=form)
        try:
            resolved = defects.resolve_defect(
                defect,
                request.user,
                status=form.cleaned_data["status"],
                comment=form.cleaned_data["comment"],
            )
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return render_defect(request, defect, status=409)
        messages.success(request, f"Defect #{resolved.pk} {resolved.get_status_display().lower()}.")
        return redirect(resolved)


# --- residual-risk acceptances ------------------------------------------------------------------


class RiskAcceptanceListView(RoleRequiredMixin, View):
    permission_required = "governance.view_riskacceptance"

    def get(self, request):
        filterset = RiskAcceptanceFilterSet(
            request.GET or None,
            queryset=_acceptances().prefetch_related("defects").order_by("-created", "-pk"),
        )
        page = paginate(request, filterset.qs, PER_PAGE)
        now = timezone.now()
        for acceptance in page:
            acceptance.state = defects.acceptance_state(acceptance, now)
        context = {
            "page": page,
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors if filterset.is_bound else {},
        }
        return render(request, "governance/acceptance_list.html", context)


def render_acceptance(request, acceptance, status=200):
    context = {
        "acceptance": acceptance,
        "release": acceptance.release,
        "state": defects.acceptance_state(acceptance),
        "linked": list(acceptance.defects.order_by("severity", "created")),
        "can_revoke": request.user.has_perm(defects.ACCEPT_PERMISSION)
        and acceptance.revoked_at is None,
        "history": history_rows(acceptance),
    }
    return render(request, "governance/acceptance_detail.html", context, status=status)


class RiskAcceptanceDetailView(RoleRequiredMixin, View):
    permission_required = "governance.view_riskacceptance"

    def get(self, request, pk):
        return render_acceptance(request, get_object_or_404(_acceptances(), pk=pk))


class RiskAcceptanceRevokeView(RoleRequiredMixin, View):
    permission_required = defects.ACCEPT_PERMISSION

    def post(self, request, pk):
        acceptance = get_object_or_404(_acceptances(), pk=pk)
        form = RevokeForm(request.POST)
        form.is_valid()
        try:
            defects.revoke(acceptance, request.user, form.cleaned_data.get("reason", ""))
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return render_acceptance(request, acceptance, status=409)
        messages.success(
            request,
            f"Acceptance #{acceptance.pk} revoked: its defects block "
            f"{acceptance.release.key} again.",
        )
        return redirect(acceptance)


class ReleaseRiskAcceptanceCreateView(RoleRequiredMixin, View):
    """Accept the residual risk of a release's open defects (product owner, compliance)."""

    permission_required = defects.ACCEPT_PERMISSION
    template_name = "governance/acceptance_form.html"

    def _render(self, request, release, form, status=200):
        context = {
            "release": release,
            "form": form,
            "max_days": defects.max_acceptance_days(),
            "verdict": defects.check_open_defects(release),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, key):
        release = _release(key)
        blocking = [d.pk for d in defects.blocking_defects(release)]
        form = AcceptanceForm(release=release, initial={"defects": blocking})
        return self._render(request, release, form)

    def post(self, request, key):
        release = _release(key)
        form = AcceptanceForm(request.POST, release=release)
        if form.is_valid():
            data = form.cleaned_data
            try:
                acceptance = defects.accept_residual_risk(
                    release, data["defects"], request.user, data["rationale"], data["expires_at"]
                )
            except NotPermitted as exc:
                messages.error(request, exc.message)
                return self._render(request, release, form, status=403)
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(
                    request,
                    f"Residual risk accepted for {release.key} until "
                    f"{timezone.localtime(acceptance.expires_at):%Y-%m-%d %H:%M %Z}.",
                )
                return redirect(acceptance)
        return self._render(request, release, form, status=400)


# --- delay ----------------------------------------------------------------------------------------


class ReleaseDelayView(RoleRequiredMixin, View):
    """Re-plan a release to new dates, with a reason."""

    permission_required = defects.DELAY_PERMISSION
    template_name = "governance/defect_delay_form.html"

    def _render(self, request, release, form, status=200):
        context = {
            "release": release,
            "form": form,
            "open_state": release.state in defects.PRE_DEPLOYMENT_STATES,
            "verdict": defects.check_open_defects(release),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, key):
        return self._render(request, _release(key), DelayForm())

    def post(self, request, key):
        release = _release(key)
        form = DelayForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                delayed = defects.delay_release(
                    release,
                    request.user,
                    data["planned_start"],
                    data["planned_end"],
                    data["reason"],
                )
            except IllegalTransition as exc:
                messages.error(request, exc.message)
                return self._render(request, release, form, status=409)
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(
                    request,
                    f"{delayed.key} re-planned to "
                    f"{timezone.localtime(delayed.planned_start):%Y-%m-%d %H:%M %Z}.",
                )
                return redirect(delayed.get_absolute_url() + "#defects")
        return self._render(request, release, form, status=400)
