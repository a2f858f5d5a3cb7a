"""Rollback-step and DR-test pages. The rules are in ``releases.rollback_scope`` and
``releases.dr``; these views parse input, call them and show their answer."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from releasemgr.decisions import DomainError, IllegalTransition, NotPermitted
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases import dr, rollback_scope
from releases.filtersets_resilience import DrTestFilterSet
from releases.forms_resilience import DrTestForm, RollbackStepForm
from releases.models import DrTest, Release, RollbackStep

VALIDATION_TAB = "#validation"


class RollbackStepFormView(RoleRequiredMixin, View):
    """Add (``/releases/<key>/rollback-steps/add/``) or edit a step of a release's plan."""

    model = RollbackStep
    template_name = "releases/rollback_step_form.html"

    def get_permission_required(self):
        return (
            [rollback_scope.CHANGE_PERMISSION]
            if "pk" in self.kwargs
            else [rollback_scope.ADD_PERMISSION]
        )

    def _objects(self, key=None, pk=None):
        if pk is not None:
            step = get_object_or_404(RollbackStep.objects.select_related("release"), pk=pk)
            return step.release, step
        return get_object_or_404(Release, key=key), None

    def _render(self, request, release, step, form, status=200):
        context = {"release": release, "step": step, "form": form}
        if step is not None:
            context["history"] = history_rows(step)
        return render(request, self.template_name, context, status=status)

    def get(self, request, key=None, pk=None):
        release, step = self._objects(key, pk)
        initial = {}
        if step is not None:
            initial = {f: getattr(step, f) for f in rollback_scope.EDITABLE_FIELDS}
        return self._render(
            request, release, step, RollbackStepForm(initial=initial, release=release)
        )

    def post(self, request, key=None, pk=None):
        release, step = self._objects(key, pk)
        form = RollbackStepForm(request.POST, release=release)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if step is None:
                    rollback_scope.add_step(release, request.user, **data)
                else:
                    rollback_scope.edit_step(step, request.user, **data)
            except IllegalTransition as exc:
                messages.error(request, exc.message)
                return self._render(request, release, step, form, status=409)
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(request, f"Rollback plan of {release.key} saved.")
                return redirect(release.get_absolute_url() + VALIDATION_TAB)
        return self._render(request, release, step, form, status=400)


class RollbackStepDeleteView(RoleRequiredMixin, View):
    """``/rollback-steps/<pk>/delete/``: confirm, then remove a step from a release's plan.
    Refused (409) once the release is deployed, closed, cancelled or rolled back."""

    model = RollbackStep
    permission_required = rollback_scope.DELETE_PERMISSION
    template_name = "releases/rollback_step_confirm_delete.html"

    def _render(self, request, step, refusal="", status=200):
        release = step.release
        if not refusal:
            # Say so before the user presses the button (the decision module's own words).
            try:
                rollback_scope._require_open(release)
            except IllegalTransition as exc:
                refusal = exc.message
        context = {"step": step, "release": release, "refusal": refusal}
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk):
        step = get_object_or_404(RollbackStep.objects.select_related("release", "service"), pk=pk)
        return self._render(request, step)

    def post(self, request, pk):
        step = get_object_or_404(RollbackStep.objects.select_related("release", "service"), pk=pk)
        release = step.release
        try:
            rollback_scope.delete_step(step, request.user)
        except NotPermitted as exc:
            return self._render(request, step, exc.message, status=403)
        except DomainError as exc:
            return self._render(request, step, exc.message, status=409)
        messages.success(
            request, f"Step {step.position} of {step.service.name}'s rollback removed."
        )
        return redirect(release.get_absolute_url() + VALIDATION_TAB)


class DrTestListView(RoleRequiredMixin, View):
    permission_required = "releases.view_drtest"

    def get(self, request):
        filterset = DrTestFilterSet(
            request.GET or None,
            queryset=DrTest.objects.select_related("service", "recorded_by").order_by(
                "-tested_at", "-pk"
            ),
        )
        context = {
            "page": paginate(request, filterset.qs, 25),
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "can_add": request.user.has_perm(dr.ADD_PERMISSION),
        }
        return render(request, "releases/dr_test_list.html", context)


class DrTestDetailView(RoleRequiredMixin, View):
    model = DrTest
    permission_required = "releases.view_drtest"

    def get(self, request, pk):
        test = get_object_or_404(DrTest.objects.select_related("service", "recorded_by"), pk=pk)
        context = {
            "test": test,
            "history": history_rows(test),
            "can_change": request.user.has_perm(dr.CHANGE_PERMISSION),
        }
        return render(request, "releases/dr_test_detail.html", context)


class DrTestFormView(RoleRequiredMixin, View):
    model = DrTest
    template_name = "releases/dr_test_form.html"

    def get_permission_required(self):
        return [dr.CHANGE_PERMISSION] if "pk" in self.kwargs else [dr.ADD_PERMISSION]

    def get(self, request, pk=None):
        test = get_object_or_404(DrTest, pk=pk) if pk else None
        initial = {"service": request.GET.get("service")}
        if test is not None:
            initial = {f: getattr(test, f) for f in dr.EDITABLE_FIELDS}
            initial["service"] = test.service.slug
        form = DrTestForm(initial=initial)
        return render(request, self.template_name, {"form": form, "test": test})

    def post(self, request, pk=None):
        test = get_object_or_404(DrTest, pk=pk) if pk else None
        form = DrTestForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            service = data.pop("service")
            try:
                if test is None:
                    test = dr.record_test(service, request.user, **data)
                else:
                    test = dr.edit_test(test, request.user, **data)
            except DomainError as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(request, f"DR test of {test.service.name} saved.")
                return redirect(test)
        return render(request, self.template_name, {"form": form, "test": test}, status=400)
