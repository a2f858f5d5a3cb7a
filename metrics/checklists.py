"""Checklists: templates with versioned items, and runs of the current version per deployment.

A run copies the items of the version it was started from, so a later version never changes a
run already under way. Items are ticked passed, failed or skipped (a failed or skipped item
needs a note saying why)."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.db.models import Max

from metrics.models.checklists import (
    ChecklistRun,
    ChecklistRunItem,
    ChecklistTemplate,
    ChecklistVersion,
    RunItemStatus,
)
from releasemgr.decisions import DomainError, IllegalTransition, InvalidInput, Reason  # noqa: F401
from releasemgr.redaction import redact

RUN_PERMISSION = "metrics.add_checklistrun"
TICK_PERMISSION = "metrics.change_checklistrunitem"
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, [Reason(field, False, message, {"field": field})])


def clean_items(items) -> list[dict]:
    if not isinstance(items, list) or not items:
        raise _invalid("items", "Give at least one item: [{key, text}].")
    out, keys = [], set()
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise _invalid("items", f"Item {n} is not an object with key and text.")
        key, text = str(item.get("key", "")).strip(), str(item.get("text", "")).strip()
        if not KEY_RE.match(key):
            raise _invalid("items", f"Item {n}: key '{key}' must be a slug (a-z, 0-9, hyphens).")
        if not text or len(text) > 300:
            raise _invalid("items", f"Item {n} ({key}): give a text of 1 to 300 characters.")
        if key in keys:
            raise _invalid("items", f"Item {n}: key '{key}' appears twice.")
        keys.add(key)
        out.append({"key": key, "text": redact(text)})
    return out


def current_version(template: ChecklistTemplate) -> ChecklistVersion | None:
    return template.versions.order_by("-number").first()


def create_template(user, name: str, slug: str, scope: str, items) -> ChecklistTemplate:
    name, slug = (name or "").strip(), (slug or "").strip()
    if not name:
        raise _invalid("name", "Give the checklist a name.")
    if not slug:
        raise _invalid("slug", "Give the checklist a slug.")
    if ChecklistTemplate.objects.filter(slug=slug).exists():
        raise _invalid("slug", f"A checklist '{slug}' exists already; choose another slug.")
    items = clean_items(items)
    with transaction.atomic():
        template = ChecklistTemplate(
            name=name, slug=slug, scope=(scope or "production deployment").strip()
        )
        template.full_clean()
        template.save_with_reason("created", user=user)
        add_version(user, template, items, "First version")
    return template


def add_version(
    user, template: ChecklistTemplate, items, summary: str, proposals: list | None = None
) -> ChecklistVersion:
    """The next version (numbers 1, 2, 3 … without gaps; versions are never edited)."""
    items = clean_items(items)
    with transaction.atomic():
        ChecklistTemplate.objects.select_for_update().get(pk=template.pk)
        last = template.versions.aggregate(n=Max("number"))["n"] or 0
        version = ChecklistVersion.objects.create(
            template=template,
            number=last + 1,
            items=items,
            summary=(summary or "")[:300],
            accepted_proposals=proposals or [],
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        template.save_with_reason(f"version {version.number}: {version.summary}", user=user)
    return version


def diff_items(old: ChecklistVersion | None, new: ChecklistVersion) -> list[dict]:
    """Each item of either version: added, removed, changed (text) or same."""
    before = {i["key"]: i["text"] for i in (old.items if old else [])}
    after = {i["key"]: i["text"] for i in new.items}
    rows = []
    for item in new.items:
        key = item["key"]
        if key not in before:
            rows.append({"key": key, "status": "added", "text": item["text"], "old": None})
        elif before[key] != item["text"]:
            rows.append({"key": key, "status": "changed", "text": item["text"], "old": before[key]})
        else:
            rows.append({"key": key, "status": "same", "text": item["text"], "old": None})
    for key, text in before.items():
        if key not in after:
            rows.append({"key": key, "status": "removed", "text": None, "old": text})
    return rows


def start_run(user, deployment, template: ChecklistTemplate) -> ChecklistRun:
    """A run of the template's current version for ``deployment`` (one per version)."""
    version = current_version(template)
    if version is None:
        raise _invalid("template", f"{template.name} has no version yet.")
    if ChecklistRun.objects.filter(deployment=deployment, version__template=template).exists():
        raise IllegalTransition(
            f"Deployment #{deployment.pk} already has a run of {template.name}."
        )
    try:
        with transaction.atomic():
            run = ChecklistRun(version=version, deployment=deployment, started_by=user)
            run.save_with_reason(f"started {version}", user=user)
            for item in version.items:
                row = ChecklistRunItem(run=run, key=item["key"], text=item["text"])
                row.save_with_reason("started", user=user)
    except IntegrityError as exc:  # a concurrent start won
        raise IllegalTransition(
            f"Deployment #{deployment.pk} already has a run of {template.name}."
        ) from exc
    return run


def tick(user, item: ChecklistRunItem, status: str, note: str = "") -> ChecklistRunItem:
    note = (note or "").strip()
    if status not in RunItemStatus.values:
        raise _invalid("status", f"Unknown status '{status}'; one of passed, failed, skipped.")
    if status in (RunItemStatus.FAILED, RunItemStatus.SKIPPED) and not note:
        raise _invalid("note", f"Say why the item is {status} (a note).")
    if len(note) > 500:
        raise _invalid("note", "Keep the note under 500 characters.")
    with transaction.atomic():
        locked = ChecklistRunItem.objects.select_for_update().get(pk=item.pk)
        locked.status, locked.note = status, redact(note)
        locked.save_with_reason(f"{status}", user=user)
    return locked
