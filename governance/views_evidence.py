"""Evidence pack pages: the list, the request form, one pack (progress, manifest, chain
verification) and the download. Building happens in the Celery job."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from governance import evidence
from governance.choices import EvidenceStatus
from governance.forms_evidence import EvidenceRequestForm
from governance.models import EvidencePack
from releasemgr.decisions import DomainError, NotPermitted
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases.models import Release

PER_PAGE = 25
BUILDING = (EvidenceStatus.QUEUED, EvidenceStatus.RUNNING)


def _packs():
    return EvidencePack.objects.select_related("release", "service", "requested_by")


class EvidenceListView(RoleRequiredMixin, View):
    permission_required = "governance.view_evidencepack"

    def get(self, request):
        page = paginate(request, _packs().order_by("-created", "-pk"), PER_PAGE)
        return render(request, "governance/evidence_list.html", {"page": page})


class EvidenceCreateView(RoleRequiredMixin, View):
    """``/governance/evidence/new/?release=<key>`` pre-fills the release."""

    permission_required = evidence.PERMISSION

    def _render(self, request, form, status=200):
        return render(request, "governance/evidence_form.html", {"form": form}, status=status)

    def get(self, request):
        initial = {}
        key = request.GET.get("release")
        if key and Release.objects.filter(key=key).exists():
            initial["release"] = key
        return self._render(request, EvidenceRequestForm(initial=initial))

    def post(self, request):
        form = EvidenceRequestForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        try:
            pack = evidence.request_pack(request.user, **form.cleaned_data)
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return self._render(request, form, status=403)
        except DomainError as exc:
            form.add_domain_errors(exc)
            return self._render(request, form, status=400)
        messages.success(request, f"{pack} requested; the card below shows how its build goes.")
        return redirect(pack)


def _detail_context(pack) -> dict:
    return {
        "pack": pack,
        "building": pack.status in BUILDING,
        "files": pack.manifest.get("files", []) if pack.manifest else [],
        "chain": pack.chain_verification or None,
    }


class EvidenceDetailView(RoleRequiredMixin, View):
    permission_required = "governance.view_evidencepack"

    def get(self, request, pk):
        pack = get_object_or_404(_packs(), pk=pk)
        context = _detail_context(pack)
        context["history"] = _short_history(history_rows(pack))
        return render(request, "governance/evidence_detail.html", context)


def _summary(value):
    """The manifest and chain verification are long JSON: the history says what they held."""
    if not isinstance(value, dict) or not value:
        return value or None
    if "files" in value:
        return f"{len(value['files'])} files, {len(value.get('releases', []))} release(s)"
    if "intact" in value:
        return f"{'intact' if value['intact'] else 'broken'}, {value.get('entries')} entries"
    return "…"


def _short_history(rows):
    for row in rows:
        for change in row["changes"]:
            if change["field"] in ("manifest", "chain verification"):
                change["old"], change["new"] = _summary(change["old"]), _summary(change["new"])
    return rows


class EvidenceProgressView(RoleRequiredMixin, View):
    """The status card alone, polled by htmx while the pack builds (stops once it is done)."""

    permission_required = "governance.view_evidencepack"

    def get(self, request, pk):
        pack = get_object_or_404(_packs(), pk=pk)
        return render(request, "governance/evidence_status.html", _detail_context(pack))


class EvidenceDownloadView(RoleRequiredMixin, View):
    permission_required = evidence.PERMISSION

    def get(self, request, pk):
        pack = get_object_or_404(_packs(), pk=pk)
        if pack.status != EvidenceStatus.READY:
            messages.error(request, f"{pack} is {pack.get_status_display().lower()}, not ready.")
            return redirect(pack)
        path = evidence.archive_path(pack)
        if not path.is_file():
            raise Http404("The archive is no longer on disk; request a new pack.")
        return FileResponse(path.open("rb"), as_attachment=True, filename=pack.file_name)
