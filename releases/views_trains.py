"""Train pages (list, detail with departures, cars and decoupling advice, create, edit, add or
remove a release, decouple) and the shared-library list (one library: ``views_libraries``).

The rules are in ``releases.trains`` and ``releases.libraries``; these views parse input, call
them and show their answer.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from releasemgr.decisions import DomainError
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases import libraries, trains
from releases.filtersets_trains import ReleaseTrainFilterSet
from releases.forms_trains import (
    AddReleaseForm,
    DecoupleForm,
    ReleaseTrainForm,
    RemoveReleaseForm,
)
from releases.models import Release, Service
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain
from scheduling.forms import describe_rrule

PER_PAGE = 25
DEPARTURES_SHOWN = 6


class TrainListView(RoleRequiredMixin, View):
    permission_required = "releases.view_releasetrain"
    model = ReleaseTrain

    def get(self, request):
        filterset = ReleaseTrainFilterSet(
            request.GET or None, queryset=ReleaseTrain.objects.select_related("owner")
        )
        page = paginate(request, filterset.qs, PER_PAGE)
        for train in page:
            train.cadence_text = describe_rrule(train.cadence)
            found = trains.next_departures(train, 1) if train.active else []
            train.next_departure = found[0] if found else None
        context = {
            "page": page,
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors if filterset.is_bound else {},
        }
        return render(request, "releases/train_list.html", context)


def render_train(request, train, status=200, **extra):
    departures = trains.next_departures(train, DEPARTURES_SHOWN) if train.active else []
    cars = list(trains.cars_for(train))
    by_departure = defaultdict(list)
    for car in cars:
        by_departure[car.departure].append(car)
    advice = trains.decoupling_advice(train, cars=cars)
    can_manage = request.user.has_perm("releases.change_releasetrain")
    context = {
        "train": train,
        "cadence_text": describe_rrule(train.cadence),
        "rows": [(d, by_departure.get(d, [])) for d in sorted(set(departures) | set(by_departure))],
        "advice": advice,
        "can_manage": can_manage,
        "can_add": request.user.has_perm("releases.add_traincar") and train.active,
        "can_remove": request.user.has_perm("releases.delete_traincar"),
        "add_form": extra.pop("add_form", None) or AddReleaseForm(departures=departures),
        "history": history_rows(train),
    }
    context.update(extra)
    return render(request, "releases/train_detail.html", context, status=status)


class TrainDetailView(RoleRequiredMixin, View):
    permission_required = "releases.view_releasetrain"
    model = ReleaseTrain

    def get(self, request, slug):
        return render_train(request, get_object_or_404(ReleaseTrain, slug=slug))


class TrainFormView(RoleRequiredMixin, View):
    """``/trains/new/`` and ``/trains/<slug>/edit/``."""

    model = ReleaseTrain
    template_name = "releases/train_form.html"

    def get_permission_required(self):
        action = "change" if "slug" in self.kwargs else "add"
        return [f"releases.{action}_releasetrain"]

    def get(self, request, slug=None):
        train = get_object_or_404(ReleaseTrain, slug=slug) if slug else None
        form = ReleaseTrainForm(instance=train)
        return render(request, self.template_name, {"form": form, "train": train})

    def post(self, request, slug=None):
        train = get_object_or_404(ReleaseTrain, slug=slug) if slug else None
        form = ReleaseTrainForm(request.POST, instance=train)
        if form.is_valid():
            obj = form.save(commit=False)
            if train is None:
                obj.owner = request.user
            obj.save_with_reason("edited" if train else "created", user=request.user)
            messages.success(request, f"{obj.name} saved.")
            return redirect(obj)
        return render(request, self.template_name, {"form": form, "train": train}, status=400)


class TrainReleaseAddView(RoleRequiredMixin, View):
    """Put a release on one of the train's departures."""

    permission_required = "releases.add_traincar"
    model = ReleaseTrain

    def post(self, request, slug):
        train = get_object_or_404(ReleaseTrain, slug=slug)
        departures = trains.next_departures(train, DEPARTURES_SHOWN)
        form = AddReleaseForm(request.POST, departures=departures)
        if form.is_valid():
            release = form.cleaned_data["release"]
            try:
                car = trains.add_release(
                    train, release, form.cleaned_data["departure"], request.user
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    f"{release.key} rides the {train.name} on {car.departure:%Y-%m-%d %H:%M} UTC.",
                )
                return redirect(train)
        return render_train(request, train, status=400, add_form=form)


class TrainDecoupleView(RoleRequiredMixin, View):
    """Move an advised service out of a train release into its own release."""

    permission_required = "releases.change_releasetrain"
    model = ReleaseTrain

    def post(self, request, slug):
        train = get_object_or_404(ReleaseTrain, slug=slug)
        form = DecoupleForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Say why the service leaves the train.")
            return render_train(request, train, status=400)
        release = get_object_or_404(Release, key=form.cleaned_data["release"])
        service = get_object_or_404(Service, slug=form.cleaned_data["service"])
        try:
            result = trains.decouple(
                train, release, service, request.user, form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return render_train(request, train, status=400)
        except DomainError as exc:
            messages.error(request, exc.message)
            return render_train(request, train, status=409)
        if result.pk == release.pk:
            messages.success(request, f"{release.key} left the {train.name}.")
        else:
            messages.success(
                request, f"{service.slug} decoupled from {release.key} into {result.key}."
            )
        return redirect(train)


class TrainReleaseRemoveView(RoleRequiredMixin, View):
    """Take a release off the train (only while it is editable)."""

    permission_required = "releases.delete_traincar"
    model = ReleaseTrain

    def post(self, request, slug):
        train = get_object_or_404(ReleaseTrain, slug=slug)
        form = RemoveReleaseForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Say which release leaves the train.")
            return render_train(request, train, status=400)
        release = get_object_or_404(Release, key=form.cleaned_data["release"])
        try:
            trains.remove_release(train, release, request.user, form.cleaned_data["reason"])
        except DomainError as exc:
            messages.error(request, exc.message)
            return render_train(request, train, status=409)
        messages.success(request, f"{release.key} left the {train.name}.")
        return redirect(train)


class LibraryListView(RoleRequiredMixin, View):
    """Per shared library: versions in use per service (with teams), pins of open releases,
    and the conflicts. A fixed handful of queries."""

    permission_required = "releases.view_libraryusage"

    def get(self, request):
        libs = list(libraries.shared_libraries().order_by("name"))
        usages = defaultdict(list)
        for usage in LibraryUsage.objects.select_related("service__team"):
            usages[usage.library_id].append(usage)
        pins = defaultdict(list)
        for pin in ReleaseLibraryPin.objects.filter(
            release__state__in=libraries.OPEN_STATES
        ).select_related("release"):
            pins[pin.library_id].append(pin)
        flags = defaultdict(list)
        for reason in libraries.conflicts():
            flags[reason.data["library"]].append(reason)
        for lib in libs:
            lib.usages, lib.pins, lib.flags = usages[lib.pk], pins[lib.pk], flags[lib.slug]
        return render(
            request,
            "releases/library_list.html",
            {"libraries": libs, "now": timezone.now(), "flag_count": sum(map(len, flags.values()))},
        )
