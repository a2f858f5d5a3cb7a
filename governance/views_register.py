"""Register pages: the list (open items by default), one entry, record/edit, status changes,
and the export of open items for service management (CSV and JSON).

The rules are in ``governance.register``; these views parse input, call it and show its answer.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from governance import register
from governance.filtersets_register import RegisterEntryFilterSet
from governance.forms_register import RegisterEntryForm, StatusForm
from governance.models import RegisterEntry
from releasemgr.decisions import DomainError, IllegalTransition, NotPermitted
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Release, Service

PER_PAGE = 25


def filtered(request) -> RegisterEntryFilterSet:
    """The list's filters; without an ``open`` choice only open items are shown."""
    data = request.GET.copy()
    if "open" not in data:
        data["open"] = "true"
    return RegisterEntryFilterSet(
        data, queryset=register.with_related(RegisterEntry.objects.all()), request=request
    )


class RegisterListView(RoleRequiredMixin, View):
    permission_required = "governance.view_registerentry"

    def get(self, request):
        filterset = filtered(request)
        page = paginate(request, filterset.qs, PER_PAGE)
        form = style_filter_form(filterset.form)
        for name, placeholder in (("release", "REL-…"), ("owner", "username")):
            form.fields[name].widget = forms.TextInput(
                attrs={"class": "form-control form-control-sm", "placeholder": placeholder}
            )
        query = request.GET.copy()
        query.pop("page", None)
        if "open" not in query:
            query["open"] = "true"
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors,
            "export_query": query.urlencode(),
        }
        template = (
            "governance/register_table.html"
            if is_htmx(request)
            else "governance/register_list.html"
        )
        return render(request, template, context)


class RegisterExportCsvView(RoleRequiredMixin, View):
    """Open items (or the list's filters) as CSV, for service management."""

    permission_required = "governance.view_registerentry"

    def get(self, request):
        filterset = filtered(request)
        if not filterset.is_valid():
            return HttpResponse(
                json.dumps(filterset.errors), status=400, content_type="application/json"
            )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response = HttpResponse(register.export_csv(filterset.qs), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="register-{stamp}.csv"'
        return response


class RegisterExportJsonView(RoleRequiredMixin, View):
    permission_required = "governance.view_registerentry"

    def get(self, request):
        filterset = filtered(request)
        if not filterset.is_valid():
            return HttpResponse(
                json.dumps(filterset.errors), status=400, content_type="application/json"
            )
        body = {
            "exported_at": timezone.now().isoformat(),
            "entries": list(register.export_rows(filterset.qs)),
        }
        response = HttpResponse(json.dumps(body, indent=2), content_type="application/json")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="register-{stamp}.json"'
        return response


def _entry_or_404(pk) -> RegisterEntry:
    return get_object_or_404(register.with_related(RegisterEntry.objects.all()), pk=pk)


def render_detail(request, entry, status=200, **extra):
    user = request.user
    choices = register.NEXT_STATUSES.get(entry.status, ())
    context = {
        "entry": entry,
        "is_open": register.is_open(entry),
        "can_edit": user.has_perm(register.CHANGE_PERMISSION) and bool(choices),
        "status_form": extra.pop("status_form", None) or StatusForm(choices=choices),
        "history": history_rows(entry),
    }
    context.update(extra)
    return render(request, "governance/register_detail.html", context, status=status)


class RegisterDetailView(RoleRequiredMixin, View):
    permission_required = "governance.view_registerentry"

    def get(self, request, pk):
        return render_detail(request, _entry_or_404(pk))


class RegisterStatusView(RoleRequiredMixin, View):
    """POST a new status with a note. Wrong role → 403 with the reasons; closed → 409."""

    permission_required = register.CHANGE_PERMISSION

    def post(self, request, pk):
        entry = _entry_or_404(pk)
        form = StatusForm(request.POST, choices=register.NEXT_STATUSES.get(entry.status, ()))
        if not form.is_valid():
            return render_detail(request, entry, status=400, status_form=form)
        try:
            changed = register.change_status(
                entry, request.user, form.cleaned_data["status"], form.cleaned_data["note"]
            )
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return render_detail(request, entry, status=403, status_form=form)
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return render_detail(request, _entry_or_404(pk), status=409)
        except DomainError as exc:
            form.add_error(None, exc.message)
            return render_detail(request, entry, status=400, status_form=form)
        messages.success(request, f"#{changed.pk} is now {changed.get_status_display().lower()}.")
        return redirect(changed)


class RegisterCreateView(RoleRequiredMixin, View):
    """``/governance/register/new/?release=<key>&service=<slug>&kind=…``: pre-filled when given."""

    permission_required = register.ADD_PERMISSION

    def _render(self, request, form, status=200):
        return render(
            request, "governance/register_form.html", {"form": form, "entry": None}, status=status
        )

    def get(self, request):
        initial = {"owner": request.user.get_username()}
        release = Release.objects.filter(key=request.GET.get("release") or "").first()
        service = Service.objects.filter(slug=request.GET.get("service") or "").first()
        if release is not None:
            initial["release"] = release.key
            services = list(release.release_services.values_list("service__slug", flat=True))
            if service is None and len(services) == 1:
                initial["service"] = services[0]
        if service is not None:
            initial["service"] = service.slug
        if request.GET.get("kind") in dict(RegisterEntry._meta.get_field("kind").choices):
            initial["kind"] = request.GET["kind"]
        return self._render(request, RegisterEntryForm(initial=initial))

    def post(self, request):
        form = RegisterEntryForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        data = {name: form.cleaned_data.get(name) for name in register.EDITABLE_FIELDS}
        try:
            entry = register.create(request.user, **data)
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return self._render(request, form, status=403)
        except DomainError as exc:
            form.add_domain_errors(exc)
            return self._render(request, form, status=400)
        messages.success(request, f"Recorded #{entry.pk}: {entry}.")
        return redirect(entry)


class RegisterEditView(RoleRequiredMixin, View):
    permission_required = register.CHANGE_PERMISSION

    def _render(self, request, form, entry, status=200):
        return render(
            request, "governance/register_form.html", {"form": form, "entry": entry}, status=status
        )

    def get(self, request, pk):
        entry = _entry_or_404(pk)
        return self._render(request, RegisterEntryForm(instance=entry), entry)

    def post(self, request, pk):
        entry = _entry_or_404(pk)
        form = RegisterEntryForm(request.POST, instance=_entry_or_404(pk))
        if not form.is_valid():
            return self._render(request, form, entry, status=400)
        data = {name: form.cleaned_data.get(name) for name in register.EDITABLE_FIELDS}
        try:
            updated = register.update(entry, request.user, **data)
        except IllegalTransition as exc:
            messages.error(request, exc.message)
            return self._render(request, form, entry, status=409)
        except DomainError as exc:
            form.add_domain_errors(exc)
            return self._render(request, form, entry, status=400)
        messages.success(request, f"Saved #{updated.pk}.")
        return redirect(updated)
