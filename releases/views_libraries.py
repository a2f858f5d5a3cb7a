"""Shared-library pages: one library (versions in use per service with teams, pins of open
releases, conflicts, history), declaring a service's usage, and a release's pin.

The rules are in ``releases.libraries`` and the models' ``clean``; these views parse input,
call them and show their answer.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from releasemgr.decisions import DomainError
from releasemgr.web import RoleRequiredMixin, history_rows
from releases import libraries
from releases.choices import DependencyKind
from releases.forms_trains import LibraryUsageForm, ReleaseLibraryPinForm
from releases.models import Release, ServiceDependency
from releases.models.trains import LibraryUsage, ReleaseLibraryPin


def _add_errors(form, exc: ValidationError) -> None:
    for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
        form.add_error(field if field in form.fields else None, errors)


def _library_url(library) -> str:
    return reverse("library_detail", args=[library.slug])


class LibraryDetailView(RoleRequiredMixin, View):
    """A fixed handful of queries whatever the number of services, usages and pins."""

    permission_required = "releases.view_libraryusage"

    def get(self, request, slug):
        library = get_object_or_404(libraries.shared_libraries(), slug=slug)
        usages = list(LibraryUsage.objects.filter(library=library).select_related("service__team"))
        links = list(
            ServiceDependency.objects.filter(
                depends_on=library, kind=DependencyKind.LIBRARY
            ).select_related("service__team")
        )
        constraints = {d.service_id: d.version_constraint for d in links}
        for usage in usages:
            usage.constraint = constraints.get(usage.service_id, "")
            usage.fits = (
                libraries.satisfies(usage.version, usage.constraint) if usage.constraint else None
            )
        declared = {u.service_id for u in usages}
        pins = list(
            ReleaseLibraryPin.objects.filter(
                library=library, release__state__in=libraries.OPEN_STATES
            ).select_related("release")
        )
        context = {
            "library": library,
            "usages": usages,
            "undeclared": [d for d in links if d.service_id not in declared],
            "pins": pins,
            "flags": libraries.conflicts(library=library),
            "history": libraries.library_history(library),
        }
        return render(request, "releases/library_detail.html", context)


class LibraryUsageFormView(RoleRequiredMixin, View):
    """``/libraries/usages/new/`` (``?service=&library=`` preselect) and ``.../<pk>/edit/``."""

    model = LibraryUsage
    template_name = "releases/library_usage_form.html"

    def get_permission_required(self):
        return [f"releases.{'change' if 'pk' in self.kwargs else 'add'}_libraryusage"]

    def _render(self, request, form, usage, status=200):
        context = {
            "form": form,
            "usage": usage,
            "history": history_rows(usage) if usage else [],
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk=None):
        usage = get_object_or_404(LibraryUsage, pk=pk) if pk else None
        initial = {} if usage else {k: request.GET.get(k) for k in ("service", "library")}
        return self._render(request, LibraryUsageForm(instance=usage, initial=initial), usage)

    def post(self, request, pk=None):
        usage = get_object_or_404(LibraryUsage, pk=pk) if pk else None
        form = LibraryUsageForm(request.POST, instance=usage)
        if form.is_valid():
            try:
                saved = libraries.save_usage(
                    form.instance, request.user, form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                messages.success(request, f"{saved} (declared).")
                return redirect(_library_url(saved.library))
        return self._render(request, form, usage, status=400)


class LibraryUsageDeleteView(RoleRequiredMixin, View):
    permission_required = "releases.delete_libraryusage"
    model = LibraryUsage

    def get(self, request, pk):
        usage = get_object_or_404(LibraryUsage.objects.select_related("service", "library"), pk=pk)
        context = {"subject": usage, "back": _library_url(usage.library), "kind": "usage"}
        return render(request, "releases/library_confirm_delete.html", context)

    def post(self, request, pk):
        usage = get_object_or_404(LibraryUsage.objects.select_related("service", "library"), pk=pk)
        libraries.delete_usage(usage, request.user, request.POST.get("reason", "")[:200])
        messages.success(request, f"{usage.service.slug} no longer declares {usage.library.slug}.")
        return redirect(_library_url(usage.library))


class LibraryPinFormView(RoleRequiredMixin, View):
    """``/releases/<key>/library-pins/new/`` and ``/library-pins/<pk>/edit/``."""

    model = ReleaseLibraryPin
    template_name = "releases/library_pin_form.html"

    def get_permission_required(self):
        return [f"releases.{'change' if 'pk' in self.kwargs else 'add'}_releaselibrarypin"]

    def _objects(self, key, pk):
        if pk:
            pin = get_object_or_404(ReleaseLibraryPin.objects.select_related("release"), pk=pk)
            return pin.release, pin
        release = get_object_or_404(Release, key=key)
        return release, ReleaseLibraryPin(release=release)

    def _render(self, request, form, release, pin, status=200):
        context = {
            "form": form,
            "release": release,
            "pin": pin if pin.pk else None,
            "history": history_rows(pin) if pin.pk else [],
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, key=None, pk=None):
        release, pin = self._objects(key, pk)
        return self._render(request, ReleaseLibraryPinForm(instance=pin), release, pin)

    def post(self, request, key=None, pk=None):
        release, pin = self._objects(key, pk)
        form = ReleaseLibraryPinForm(request.POST, instance=pin)
        status = 400
        if form.is_valid():
            try:
                saved = libraries.save_pin(form.instance, request.user, form.cleaned_data["reason"])
            except ValidationError as exc:
                _add_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status_code
            else:
                messages.success(
                    request, f"{release.key} pins {saved.library.slug} {saved.version}."
                )
                return redirect(release.get_absolute_url() + "#scope")
        return self._render(request, form, release, pin, status=status)


class LibraryPinDeleteView(RoleRequiredMixin, View):
    permission_required = "releases.delete_releaselibrarypin"
    model = ReleaseLibraryPin

    def _pin(self, pk):
        return get_object_or_404(
            ReleaseLibraryPin.objects.select_related("release", "library"), pk=pk
        )

    def get(self, request, pk):
        pin = self._pin(pk)
        back = pin.release.get_absolute_url() + "#scope"
        return render(
            request,
            "releases/library_confirm_delete.html",
            {"subject": pin, "back": back, "kind": "pin"},
        )

    def post(self, request, pk):
        pin = self._pin(pk)
        try:
            libraries.delete_pin(pin, request.user, request.POST.get("reason", "")[:200])
        except DomainError as exc:
            back = pin.release.get_absolute_url() + "#scope"
            context = {"subject": pin, "back": back, "kind": "pin", "refused": exc.message}
            return render(
                request, "releases/library_confirm_delete.html", context, status=exc.status_code
            )
        messages.success(request, f"{pin.release.key} no longer pins {pin.library.slug}.")
        return redirect(pin.release.get_absolute_url() + "#scope")
