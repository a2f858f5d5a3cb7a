"""Incident pages (list, report, one incident with the rollback-or-fix-forward aid, resolve,
decide) and data integrity check pages (add to a release, one check with its results, post a
result, remove). The rules are in ``metrics.incidents``/``metrics.integrity``."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from metrics import attribution, incidents, integrity, recovery
from metrics.filtersets_incidents import IncidentFilterSet
from metrics.forms_incidents import (
    DecideForm,
    IncidentForm,
    IntegrityCheckForm,
    ResultForm,
    StatusForm,
)
from metrics.models import Incident, IntegrityCheck, RecoveryDecision
from releasemgr.decisions import DomainError, IllegalTransition, NotPermitted
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Release

PER_PAGE = 25


def _incidents():
    return Incident.objects.select_related("service", "release", "caused_by", "reported_by")


class IncidentListView(RoleRequiredMixin, View):
    permission_required = "metrics.view_incident"

    def get(self, request):
        filterset = IncidentFilterSet(
            request.GET or None, queryset=_incidents().order_by("-started_at", "-pk")
        )
        page = paginate(request, filterset.qs, PER_PAGE)
        form = style_filter_form(filterset.form)
        for name, placeholder in (("release", "REL-…"), ("service", "service slug")):
            form.fields[name].widget = forms.TextInput(
                attrs={"class": "form-control form-control-sm", "placeholder": placeholder}
            )
        for name in ("since", "until"):
            form.fields[name].widget = forms.DateInput(
                attrs={"type": "date", "class": "form-control form-control-sm"}
            )
        form.fields["severity"].widget = forms.Select(
            choices=[("", "Any"), *form.fields["severity"].choices],
            attrs={"class": "form-select form-select-sm"},
        )
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
        }
        template = (
            "metrics/incident_table.html" if is_htmx(request) else "metrics/incident_list.html"
        )
        return render(request, template, context)


def render_incident(request, incident, status=200, **extra):
    user = request.user
    advice = recovery.advise(incident, user)
    decisions = list(
        RecoveryDecision.objects.filter(incident=incident)
        .select_related("decided_by")
        .order_by("-created", "-pk")
    )
    can_decide = (
        user.has_perm(incidents.DECIDE_PERMISSION)
        and incident.release_id is not None
        and not incident.is_resolved
    )
    context = {
        "incident": incident,
        "advice": advice,
        "decisions": decisions,
        "can_change": user.has_perm(incidents.CHANGE_PERMISSION) and not incident.is_resolved,
        "can_decide": can_decide,
        "status_form": extra.pop("status_form", None) or StatusForm(),
        "decide_form": extra.pop("decide_form", None)
        or DecideForm(initial={"choice": advice.recommendation}),
        "history": history_rows(incident),
    }
    context.update(extra)
    return render(request, "metrics/incident_detail.html", context, status=status)


class IncidentDetailView(RoleRequiredMixin, View):
    permission_required = "metrics.view_incident"

    def get(self, request, pk):
        return render_incident(request, get_object_or_404(_incidents(), pk=pk))


class IncidentCreateView(RoleRequiredMixin, View):
    """``/stabilisation/incidents/new/?service=<slug>&release=<key>``: report an incident."""

    permission_required = incidents.ADD_PERMISSION
    template_name = "metrics/incident_form.html"

    def get(self, request):
        initial = {k: request.GET[k] for k in ("service", "release") if request.GET.get(k)}
        context = {"form": IncidentForm(initial=initial), "hours": attribution.window_hours()}
        return render(request, self.template_name, context)

    def post(self, request):
        form = IncidentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                incident, created = incidents.report_incident(request.user, **data)
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                if created:
                    messages.success(
                        request,
                        f"INC-{incident.pk} recorded. {incident.attribution_reason}",
                    )
                else:
                    messages.info(request, f"Already recorded as INC-{incident.pk}.")
                return redirect(incident)
        context = {"form": form, "hours": attribution.window_hours()}
        return render(request, self.template_name, context, status=400)


class IncidentStatusView(RoleRequiredMixin, View):
    permission_required = incidents.CHANGE_PERMISSION

    def post(self, request, pk):
        incident = get_object_or_404(_incidents(), pk=pk)
        form = StatusForm(request.POST)
        if not form.is_valid():
            return render_incident(request, incident, status=400, status_form=form)
        data = form.cleaned_data
        try:
            incident = incidents.set_status(
                incident, request.user, data["status"], data["at"], data["comment"]
            )
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return render_incident(request, incident, status=409)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return render_incident(request, incident, status=400, status_form=form)
        messages.success(request, f"INC-{incident.pk} {incident.get_status_display().lower()}.")
        return redirect(incident)


class IncidentDecideView(RoleRequiredMixin, View):
    permission_required = incidents.DECIDE_PERMISSION

    def post(self, request, pk):
        incident = get_object_or_404(_incidents(), pk=pk)
        form = DecideForm(request.POST)
        if form.is_valid():
            try:
                decision = incidents.decide(incident, request.user, **form.cleaned_data)
            except IllegalTransition as exc:
                messages.error(request, exc.message)
                return render_incident(request, incident, status=409)
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(
                    request,
                    f"Decision recorded: {decision.get_choice_display().lower()} "
                    f"{incident.release.key}. It is in the decision log.",
                )
                return redirect(incident.get_absolute_url() + "#decisions")
        return render_incident(request, incident, status=400, decide_form=form)


# --- integrity checks -----------------------------------------------------------------------------


def _release(key) -> Release:
    return get_object_or_404(Release, key=key)


class IntegrityCheckCreateView(RoleRequiredMixin, View):
    permission_required = integrity.ADD_PERMISSION
    template_name = "metrics/integrity_check_form.html"

    def get(self, request, key):
        release = _release(key)
        form = IntegrityCheckForm(release=release)
        return render(request, self.template_name, {"form": form, "release": release})

    def post(self, request, key):
        release = _release(key)
        form = IntegrityCheckForm(request.POST, release=release)
        if form.is_valid():
            try:
                check = integrity.add_check(release, request.user, **form.cleaned_data)
            except IllegalTransition as exc:
                messages.error(request, exc.message)
                context = {"form": form, "release": release}
                return render(request, self.template_name, context, status=409)
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(request, f"Integrity check '{check.name}' added.")
                return redirect(check)
        context = {"form": form, "release": release}
        return render(request, self.template_name, context, status=400)


def render_check(request, check, status=200, **extra):
    page = paginate(
        request, check.results.select_related("posted_by").order_by("-created", "-pk"), PER_PAGE
    )
    latest = page[0] if page.number == 1 and len(page) else None
    if latest is None and page.number != 1:
        latest = check.results.order_by("-created", "-pk").first()
    open_release = check.release.state not in integrity.FINISHED_STATES
    context = {
        "check": check,
        "release": check.release,
        "page": page,
        "latest": latest,
        "can_post": request.user.has_perm(integrity.POST_PERMISSION) and open_release,
        "can_delete": request.user.has_perm(integrity.DELETE_PERMISSION) and open_release,
        "result_form": extra.pop("result_form", None) or ResultForm(),
        "history": history_rows(check),
    }
    context.update(extra)
    return render(request, "metrics/integrity_check_detail.html", context, status=status)


def _checks():
    return IntegrityCheck.objects.select_related("release", "service", "created_by")


class IntegrityCheckDetailView(RoleRequiredMixin, View):
    permission_required = "metrics.view_integritycheck"

    def get(self, request, pk):
        return render_check(request, get_object_or_404(_checks(), pk=pk))


class IntegrityResultCreateView(RoleRequiredMixin, View):
    permission_required = integrity.POST_PERMISSION

    def post(self, request, pk):
        check = get_object_or_404(_checks(), pk=pk)
        form = ResultForm(request.POST)
        if form.is_valid():
            try:
                result = integrity.post_result(check, request.user, **form.cleaned_data)
            except IllegalTransition as exc:
                messages.error(request, exc.message)
                return render_check(request, check, status=409, result_form=form)
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                level = messages.success if result.passed else messages.warning
                level(
                    request,
                    f"Result recorded: {'passed' if result.passed else 'failed'}. "
                    f"{result.explanation}",
                )
                return redirect(check)
        return render_check(request, check, status=400, result_form=form)


class IntegrityCheckDeleteView(RoleRequiredMixin, View):
    permission_required = integrity.DELETE_PERMISSION

    def post(self, request, pk):
        check = get_object_or_404(_checks(), pk=pk)
        release = check.release
        try:
            integrity.delete_check(check, request.user)
        except (IllegalTransition, NotPermitted) as exc:
            messages.error(request, exc.message)
            return render_check(request, check, status=409)
        messages.success(request, f"Integrity check '{check.name}' removed.")
        return redirect(release.get_absolute_url() + "?tab=stabilisation#stabilisation")
