"""Quality-gate and test-result pages. The rules are in ``releases.quality`` and the models'
``clean``; these views parse input, call them and show their answer."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases import quality
from releases.filtersets_validation import QualityGateFilterSet, TestResultFilterSet
from releases.forms_validation import QualityGateForm
from releases.models import QualityGate, TestResult

PER_PAGE = 25


def _gates():
    return QualityGate.objects.select_related("environment")


def _results():
    return TestResult.objects.select_related("release", "service", "environment", "reported_by")


class QualityGateListView(RoleRequiredMixin, View):
    permission_required = "releases.view_qualitygate"

    def get(self, request):
        filterset = QualityGateFilterSet(
            request.GET or None, queryset=_gates().order_by("environment__order", "name", "pk")
        )
        context = {
            "page": paginate(request, filterset.qs, PER_PAGE),
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors if filterset.is_bound else {},
        }
        return render(request, "releases/quality_gate_list.html", context)


class QualityGateDetailView(RoleRequiredMixin, View):
    permission_required = "releases.view_qualitygate"

    def get(self, request, pk):
        gate = get_object_or_404(_gates(), pk=pk)
        criteria = [
            {**c, "text": quality.describe(c), "suite": quality.suite_of(c)} for c in gate.criteria
        ]
        context = {"gate": gate, "criteria": criteria, "history": history_rows(gate)}
        return render(request, "releases/quality_gate_detail.html", context)


class QualityGateFormView(RoleRequiredMixin, View):
    """Create (no ``pk``) or edit a gate."""

    template_name = "releases/quality_gate_form.html"

    def get_permission_required(self):
        return (quality.GATE_PERMISSIONS["change" if "pk" in self.kwargs else "add"],)

    def _gate(self, pk):
        return get_object_or_404(_gates(), pk=pk) if pk else QualityGate()

    def get(self, request, pk=None):
        gate = self._gate(pk)
        form = QualityGateForm(instance=gate)
        return render(request, self.template_name, {"form": form, "gate": gate if pk else None})

    def post(self, request, pk=None):
        gate = self._gate(pk)
        form = QualityGateForm(request.POST, instance=gate)
        if form.is_valid():
            saved = quality.save_gate(form.instance, request.user, form.cleaned_data["reason"])
            messages.success(request, f"Quality gate “{saved.name}” saved.")
            return redirect(saved)
        context = {"form": form, "gate": gate if pk else None}
        return render(request, self.template_name, context, status=400)


class QualityGateDeleteView(RoleRequiredMixin, View):
    permission_required = quality.GATE_PERMISSIONS["delete"]

    def get(self, request, pk):
        gate = get_object_or_404(_gates(), pk=pk)
        return render(request, "releases/quality_gate_confirm_delete.html", {"gate": gate})

    def post(self, request, pk):
        gate = get_object_or_404(_gates(), pk=pk)
        quality.delete_gate(gate, request.user)
        messages.success(request, f"Quality gate “{gate.name}” deleted.")
        return redirect("quality_gate_list")


class TestResultListView(RoleRequiredMixin, View):
    __test__ = False  # not a pytest class
    permission_required = "releases.view_testresult"

    def get(self, request):
        filterset = TestResultFilterSet(
            request.GET or None, queryset=_results().order_by("-reported_at", "-pk")
        )
        form = style_filter_form(filterset.form)
        context = {
            "page": paginate(request, filterset.qs, PER_PAGE),
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
        }
        template = (
            "releases/quality_result_table.html"
            if is_htmx(request)
            else "releases/quality_result_list.html"
        )
        return render(request, template, context)


class TestResultDetailView(RoleRequiredMixin, View):
    __test__ = False  # not a pytest class
    permission_required = "releases.view_testresult"

    def get(self, request, pk):
        result = get_object_or_404(_results(), pk=pk)
        context = {"result": result, "history": history_rows(result)}
        return render(request, "releases/quality_result_detail.html", context)
