"""Writing an evidence pack's archive: claim, collect, write files, hash, zip, record.

Files in the zip:
- ``json/<type>.json`` and ``csv/<type>.csv`` for every record type (``evidence.KINDS``) and
  ``history`` (every history row of those records);
- ``report.html``: a self-contained, human-readable report;
- ``chain_verification.json``: ``decision_log.verify().as_dict()`` at build time;
- ``manifest.json``: pack metadata and, for every other file, its SHA-256 and size.
The manifest and the archive's SHA-256 are kept on the pack.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
import traceback
import zipfile
from typing import Any

from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from governance import decision_log, evidence
from governance.choices import EvidenceStatus
from governance.models import EvidencePack


def claim(pack_id: int, retake: bool = False) -> bool:
    """Take the pack for this worker: queued, or running but abandoned (conditional update).

    ``retake``: this message is a redelivery of the one whose worker died while building it
    (``releasemgr.jobs.is_redelivery``), so a running pack is its own to take back at once
    rather than after ``STALE_AFTER``."""
    now = timezone.now()
    abandoned = Q(status=EvidenceStatus.RUNNING)
    if not retake:
        abandoned &= Q(started_at__lt=now - evidence.STALE_AFTER)
    taken = (
        EvidencePack.objects.filter(pk=pack_id)
        .filter(Q(status=EvidenceStatus.QUEUED) | abandoned)
        .update(status=EvidenceStatus.RUNNING, started_at=now, progress=1, error="")
    )
    return taken == 1


def _progress(pack_id: int, percent: int) -> None:
    EvidencePack.objects.filter(pk=pack_id, status=EvidenceStatus.RUNNING).update(
        progress=max(1, min(99, percent))
    )


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False, default=str).encode()


def _csv(columns: list[str], rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
                for k, v in row.items()
            }
        )
    return out.getvalue().encode()


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _scope(pack: EvidencePack) -> dict:
    return {
        "release": pack.release.key if pack.release_id else None,
        "service": pack.service.slug if pack.service_id else None,
        "since": pack.since.isoformat() if pack.since else None,
        "until": pack.until.isoformat() if pack.until else None,
        "until_is_exclusive": True,
    }


def _report(pack, data, chain, built_at) -> bytes:
    """The human-readable report, grouped per release from the same rows as the data files."""
    by_release: dict[str, dict[str, list]] = {}
    for release in data["releases"]:
        by_release[release["key"]] = {"release": release}
    for kind in (
        "approvals",
        "approval_requirements",
        "gate_decisions",
        "deployments",
        "freeze_exceptions",
        "risk_acceptances",
        "defects",
        "test_results",
        "cab_agenda_items",
    ):
        for row in data[kind]:
            group = by_release.get(row.get("release"))
            if group is not None:
                group.setdefault(kind, []).append(row)
    events_by_deployment: dict[Any, list] = {}
    for event in data["deployment_events"]:
        events_by_deployment.setdefault(event["deployment"], []).append(event)
    for group in by_release.values():
        for deployment in group.get("deployments", []):
            deployment["events"] = events_by_deployment.get(deployment["id"], [])
    html = render_to_string(
        "governance/evidence_report.html",
        {
            "pack": pack,
            "scope": _scope(pack),
            "built_at": built_at,
            "releases": list(by_release.values()),
            "register": data["register_entries"],
            "decisions": data["decision_log"],
            "chain": chain,
            "counts": {name: len(rows) for name, rows in data.items()},
        },
    )
    return html.encode()


def build_pack(pack_id: int, retake: bool = False) -> EvidencePack:
    """Build the pack if this worker can claim it; otherwise leave it to whoever has it."""
    if not claim(pack_id, retake=retake):
        return EvidencePack.objects.get(pk=pack_id)
    pack = EvidencePack.objects.select_related("release", "service", "requested_by").get(pk=pack_id)
    # The claim is a conditional update (no history row); this save records the move to running.
    pack.save_with_reason("build started")
    try:
        data = evidence.collect(pack, progress=lambda p: _progress(pack_id, 5 + p * 75 // 100))
        chain = decision_log.verify().as_dict()
        _progress(pack_id, 85)
        built_at = timezone.now()
        files: dict[str, bytes] = {}
        for kind in evidence.KINDS:
            rows = data[kind.name]
            files[f"json/{kind.name}.json"] = _json(rows)
            files[f"csv/{kind.name}.csv"] = _csv(evidence.columns_of(kind, rows), rows)
        files["json/history.json"] = _json(data["history"])
        files["csv/history.csv"] = _csv(evidence.HISTORY_COLUMNS, data["history"])
        files["chain_verification.json"] = _json(chain)
        files["report.html"] = _report(pack, data, chain, built_at)
        manifest = {
            "format_version": evidence.FORMAT_VERSION,
            "pack_id": pack.pk,
            "scope": _scope(pack),
            "requested_by": pack.requested_by.get_username(),
            "requested_at": pack.created.isoformat(),
            "built_at": built_at.isoformat(),
            "releases": [r["key"] for r in data["releases"]],
            "record_counts": {name: len(rows) for name, rows in data.items()},
            "chain_verification": {
                "intact": chain["intact"],
                "entries": chain["entries"],
                "first_break": chain["first_break"],
            },
            "hash_algorithm": "sha256",
            "files": [
                {"name": name, "sha256": sha256(content), "size": len(content)}
                for name, content in sorted(files.items())
            ],
        }
        files["manifest.json"] = _json(manifest)
        _progress(pack_id, 92)
        file_name = f"evidence-pack-{pack.pk}.zip"
        target = evidence.evidence_dir() / file_name
        # Written beside the target and renamed: a reader never sees half an archive.
        fd, temp = tempfile.mkstemp(dir=evidence.evidence_dir(), suffix=".part")
        with (
            os.fdopen(fd, "wb") as handle,
            zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            for name, content in sorted(files.items()):
                archive.writestr(f"evidence-pack-{pack.pk}/{name}", content)
        os.replace(temp, target)
        with open(target, "rb") as handle:
            archive_hash = hashlib.file_digest(handle, "sha256").hexdigest()
        pack.refresh_from_db()
        pack.status = EvidenceStatus.READY
        pack.progress = 100
        pack.release_count = len(data["releases"])
        pack.file_name = file_name
        pack.archive_sha256 = archive_hash
        pack.manifest = manifest
        pack.chain_verification = chain
        pack.finished_at = timezone.now()
        pack.error = ""
        pack.save_with_reason(f"built: {len(data['releases'])} release(s), {len(files)} files")
    except Exception:
        pack.refresh_from_db()
        pack.status = EvidenceStatus.FAILED
        pack.finished_at = timezone.now()
        pack.error = traceback.format_exc()[-2000:]
        pack.save_with_reason("build failed")
        raise
    return pack
