"""The change catalogue (standard change models) and emergency retrospectives.

The rules are in ``governance.change_types``; these views parse input, call it and show
its answer.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views import View
from django.views.generic import CreateView, UpdateView

from governance import change_types
from governance.filtersets_changes import ChangeModelFilterSet, RetrospectiveFilterSet
from governance.forms_changes import ChangeModelForm, RetrospectiveForm
from governance.models import ChangeModel, Retrospective
from releasemgr.decisions import DomainError, NotPermitted
from releasemgr.roles import CAB_MEMBER, has_role
from releasemgr.views import ConfirmDeleteView, ModelFormSaveMixin, style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Service

PER_PAGE = 25
RECENT_RELEASES = 20


# --- change models ---------------------------------------------------------------------------


def change_model_queryset():
    return (
        ChangeModel.objects.select_related("owner", "approved_by")
        .prefetch_related(Prefetch("services", queryset=Service.objects.order_by("name")))
        .annotate(release_count=Count("releases", distinct=True))
        .order_by("name", "pk")
    )


class ChangeModelListView(RoleRequiredMixin, View):
    permission_required = "governance.view_changemodel"

    def get(self, request):
        filterset = ChangeModelFilterSet(
            request.GET or None, queryset=change_model_queryset(), request=request
        )
        page = paginate(request, filterset.qs, PER_PAGE)
        context = {
            "page": page,
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors if filterset.is_bound else {},
        }
        template = (
            "governance/change_model_table.html"
            if is_htmx(request)
            else "governance/change_model_list.html"
        )
        return render(request, template, context)


class ChangeModelDetailView(RoleRequiredMixin, View):
    permission_required = "governance.view_changemodel"

    def get(self, request, slug):
        model = get_object_or_404(change_model_queryset(), slug=slug)
        releases = model.releases.select_related("author").order_by("-created")[:RECENT_RELEASES]
        context = {
            "object": model,
            "model": model,
            "steps": [s for s in model.steps.splitlines() if s.strip()],
            "releases": releases,
            "history": history_rows(model),
        }
        return render(request, "governance/change_model_detail.html", context)


class _ChangeModelSave(ModelFormSaveMixin):
    model = ChangeModel
    form_class = ChangeModelForm
    list_url_name = "change_model_list"
    slug_field = "slug"
    slug_url_kwarg = "slug"

    def prepare(self, obj) -> None:
        # A CAB member saving the model pre-approves it (the catalogue's approval).
        if has_role(self.request.user, CAB_MEMBER):
            obj.approved_by = self.request.user
        if obj.pk is None and obj.owner_id is None:
            obj.owner = self.request.user


class ChangeModelCreateView(RoleRequiredMixin, _ChangeModelSave, CreateView):
    permission_required = "governance.add_changemodel"
    cancel_url = reverse_lazy("change_model_list")


class ChangeModelUpdateView(RoleRequiredMixin, _ChangeModelSave, UpdateView):
    permission_required = "governance.change_changemodel"


class ChangeModelDeleteView(ConfirmDeleteView):
    permission_required = "governance.delete_changemodel"
    model = ChangeModel
    slug_field = "slug"
    slug_url_kwarg = "slug"
    list_url_name = "change_model_list"
    success_url = reverse_lazy("change_model_list")
    protected_label = "releases"

    def consequences(self) -> list[str]:
        used = self.object.releases.count()
        if used:
            return [
                f"{used} release(s) follow this model, so it cannot be deleted; "
                "make it inactive instead."
            ]
        return ["Standard changes can no longer name it."]


# --- retrospectives --------------------------------------------------------------------------


def _retro_queryset():
    return Retrospective.objects.select_related(
        "release", "release__owner", "release__author", "completed_by"
    )


class RetrospectiveListView(RoleRequiredMixin, View):
    """Open ones first (overdue first among them), then completed ones."""

    permission_required = "governance.view_retrospective"

    def get(self, request):
        filterset = RetrospectiveFilterSet(
            request.GET or None,
            queryset=_retro_queryset().order_by("completed_at", "due_at", "pk"),
            request=request,
        )
        page = paginate(request, filterset.qs, PER_PAGE)
        form = style_filter_form(filterset.form)
        form.fields["release"].widget = forms.TextInput(
            attrs={"class": "form-control form-control-sm", "placeholder": "REL-…"}
        )
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "overdue_count": change_types.overdue_retrospectives().count(),
            "now": timezone.now(),
        }
        template = (
            "governance/retrospective_table.html"
            if is_htmx(request)
            else "governance/retrospective_list.html"
        )
        return render(request, template, context)


def _render_retro(request, retro, form=None, status=200):
    user = request.user
    context = {
        "retro": retro,
        "object": retro,
        "release": retro.release,
        "overdue": retro.completed_at is None and retro.due_at < timezone.now(),
        "actions": [a for a in retro.actions.splitlines() if a.strip()],
        "can_complete": retro.completed_at is None
        and user.has_perm(change_types.COMPLETE_PERMISSION),
        "form": form or RetrospectiveForm(),
        "history": history_rows(retro),
    }
    return render(request, "governance/retrospective_detail.html", context, status=status)


class RetrospectiveDetailView(RoleRequiredMixin, View):
    permission_required = "governance.view_retrospective"

    def get(self, request, pk):
        return _render_retro(request, get_object_or_404(_retro_queryset(), pk=pk))


class RetrospectiveCompleteView(RoleRequiredMixin, View):
    """POST the findings; ``change_types.complete_retrospective`` decides."""

    permission_required = change_types.COMPLETE_PERMISSION

    def get(self, request, pk):
        return redirect("retrospective_detail", pk=pk)

    def post(self, request, pk):
        retro = get_object_or_404(_retro_queryset(), pk=pk)
        form = RetrospectiveForm(request.POST)
        if not form.is_valid():
            return _render_retro(request, retro, form, status=400)
        try:
            change_types.complete_retrospective(
                retro, request.user, form.cleaned_data["findings"], form.cleaned_data["actions"]
            )
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return _render_retro(request, retro, form, status=403)
        except change_types.InvalidRetrospective as exc:
            for reason in exc.reasons:
                form.add_error(reason.data.get("field"), reason.message)
            return _render_retro(request, retro, form, status=400)
        except DomainError as exc:
            messages.error(request, exc.message)
            return _render_retro(request, retro, form, status=409)
        messages.success(request, f"Retrospective of {retro.release.key} completed.")
        return redirect(retro.get_absolute_url())
