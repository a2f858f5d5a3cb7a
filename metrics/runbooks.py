"""Runbooks: versions, their differences, safe rendering, and the "runbook updated" checklist.

The checklist rule (shown in the release's Stabilisation panel): a release **changes the
behaviour** of a service it ships when

- it includes a scope item of kind feature, fix or configuration for that service (an item
  without a service counts for every service the release ships), or
- it records an API change (adds, breaks, removes) on an API version of that service.

Each such service gets a "runbook updated" item: open until someone links a version of one of
that service's runbooks written after the release was created; done when linked.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import markdown
import nh3
from django.db import IntegrityError, transaction
from django.db.models import Max

from metrics.models.runbooks import Runbook, RunbookCheck, RunbookVersion
from releasemgr.decisions import (  # noqa: F401
    Decision,
    DomainError,
    IllegalTransition,
    InvalidInput,
    Reason,
)
from releasemgr.redaction import redact
from releases.choices import ReleaseState, ScopeDecision, ScopeKind
from releases.models import Release, Service

BEHAVIOUR_KINDS = (ScopeKind.FEATURE, ScopeKind.FIX, ScopeKind.CONFIG)
CLOSED_STATES = (ReleaseState.CLOSED, ReleaseState.CANCELLED, ReleaseState.REJECTED)
WRITE_PERMISSION = "metrics.add_runbookversion"
LINK_PERMISSION = "metrics.change_runbookcheck"
MAX_BODY = 100_000

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, [Reason(field, False, message, {"field": field})])


def render_markdown(body: str) -> str:
    """Markdown as HTML with only harmless tags: no script, no event handlers, no
    ``javascript:`` links (nh3 sanitises what Markdown lets through as raw HTML)."""
    html = markdown.markdown(body or "", extensions=["fenced_code", "tables", "sane_lists"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "code": {"class"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def create_runbook(user, service: Service, title: str, slug: str, body: str, summary: str = ""):
    """A new runbook with its first version (atomic)."""
    title, slug = (title or "").strip(), (slug or "").strip()
    if not title:
        raise _invalid("title", "Give the runbook a title.")
    if not slug:
        raise _invalid("slug", "Give the runbook a slug (letters, digits, hyphens).")
    if Runbook.objects.filter(slug=slug).exists():
        raise _invalid("slug", f"A runbook '{slug}' exists already; choose another slug.")
    with transaction.atomic():
        runbook = Runbook(service=service, title=title, slug=slug)
        runbook.full_clean()
        runbook.save_with_reason("created", user=user)
        add_version(user, runbook, body, summary or "First version")
    return runbook


def add_version(user, runbook: Runbook, body: str, summary: str) -> RunbookVersion:
    """The next version of ``runbook`` (numbers 1, 2, 3 … with no gaps; versions are never
    edited). Secrets pasted into the text are redacted before it is saved."""
    body, summary = (body or "").strip(), (summary or "").strip()
    if not body:
        raise _invalid("body", "The runbook text is empty.")
    if len(body) > MAX_BODY:
        raise _invalid("body", f"The runbook text is longer than {MAX_BODY} characters.")
    if not summary:
        raise _invalid("summary", "Say what changed in this version.")
    if len(summary) > 300:
        raise _invalid("summary", "Keep the summary of the change under 300 characters.")
    with transaction.atomic():
        # Lock the runbook so two authors cannot both take the same number.
        Runbook.objects.select_for_update().get(pk=runbook.pk)
        last = runbook.versions.aggregate(n=Max("number"))["n"] or 0
        try:
            with transaction.atomic():
                version = RunbookVersion.objects.create(
                    runbook=runbook,
                    number=last + 1,
                    body=redact(body),
                    summary=redact(summary),
                    author=user if getattr(user, "is_authenticated", False) else None,
                )
            # The runbook's history lists every version (who, when, what changed).
            runbook.save_with_reason(f"version {version.number}: {version.summary}", user=user)
            return version
        except IntegrityError as exc:  # pragma: no cover - only without row locks
            raise IllegalTransition(
                "Someone else saved a version at the same time; retry."
            ) from exc


@dataclass
class VersionDiff:
    old: RunbookVersion
    new: RunbookVersion
    unified: list[str]
    side_by_side: list[dict]

    @property
    def changed(self) -> bool:
        return any(row["status"] != "same" for row in self.side_by_side)


def diff_versions(old: RunbookVersion, new: RunbookVersion) -> VersionDiff:
    """A unified diff and a side-by-side table of two versions' lines."""
    a, b = old.body.splitlines(), new.body.splitlines()
    unified = list(difflib.unified_diff(a, b, f"v{old.number}", f"v{new.number}", lineterm="", n=3))
    rows = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                rows.append(
                    {"status": "same", "left": a[i], "right": b[j], "ln": i + 1, "rn": j + 1}
                )
            continue
        left, right = a[i1:i2], b[j1:j2]
        for k in range(max(len(left), len(right))):
            status = (
                "changed"
                if k < len(left) and k < len(right)
                else ("removed" if k < len(left) else "added")
            )
            rows.append(
                {
                    "status": status,
                    "left": left[k] if k < len(left) else None,
                    "right": right[k] if k < len(right) else None,
                    "ln": i1 + k + 1 if k < len(left) else None,
                    "rn": j1 + k + 1 if k < len(right) else None,
                }
            )
    return VersionDiff(old, new, unified, rows)


def version_pair(runbook: Runbook, number_from, number_to) -> tuple[RunbookVersion, RunbookVersion]:
    """The two versions to compare, by number; a clear error for an unknown or bad number."""
    numbers = []
    for field, value in (("from", number_from), ("to", number_to)):
        try:
            numbers.append(int(value))
        except (TypeError, ValueError):
            raise _invalid(field, f"'{field}' must be a version number, e.g. 1.") from None
    found = {v.number: v for v in runbook.versions.filter(number__in=numbers)}
    for field, number in zip(("from", "to"), numbers, strict=True):
        if number not in found:
            raise _invalid(field, f"{runbook.slug} has no version {number}.")
    return found[numbers[0]], found[numbers[1]]


# --- the "runbook updated" checklist ---------------------------------------------------------------


@dataclass
class ChecklistItem:
    service: Service
    why: list[str]
    check: RunbookCheck | None
    reason: Reason

    @property
    def done(self) -> bool:
        return self.reason.passed


def changed_services(release: Release) -> dict[int, tuple[Service, list[str]]]:
    """Services whose behaviour ``release`` changes, with why (see the module rule)."""
    shipped = {rs.service_id: rs.service for rs in release.release_services.all()}
    out: dict[int, tuple[Service, list[str]]] = {}
    for item in release.scope_items.all():
        if item.decision != ScopeDecision.INCLUDED or item.kind not in BEHAVIOUR_KINDS:
            continue
        targets = [item.service_id] if item.service_id else list(shipped)
        for service_id in targets:
            service = shipped.get(service_id) or item.service
            if service is None:
                continue
            out.setdefault(service_id, (service, []))[1].append(
                f"{item.get_kind_display().lower()}: {item.title}"
            )
    for change in release.api_changes.all():
        service = change.api_version.service
        out.setdefault(service.pk, (service, []))[1].append(
            f"API {change.get_change_display().split(' ')[0].lower()} {change.api_version.name}"
        )
    return out


def checklist(release: Release) -> Decision:
    """One reason per service that needs its runbook updated (passed = a version is linked)."""
    release = (
        Release.objects.filter(pk=release.pk)
        .prefetch_related(
            "release_services__service",
            "scope_items__service",
            "api_changes__api_version__service",
        )
        .get()
    )
    checks = {
        c.service_id: c
        for c in RunbookCheck.objects.filter(release=release).select_related(
            "version__runbook", "linked_by"
        )
    }
    decision = Decision()
    for service_id, (service, why) in sorted(
        changed_services(release).items(), key=lambda kv: kv[1][0].slug
    ):
        check = checks.get(service_id)
        version = check.version if check else None
        if version is not None:
            message = (
                f"{service.slug}: runbook updated — {version.runbook.title} v{version.number} "
                f"linked."
            )
        else:
            message = (
                f"{service.slug}: runbook not updated yet — link a version of one of its "
                f"runbooks written after {release.key} was created."
            )
        decision.add(
            Reason(
                "runbook_updated",
                version is not None,
                message,
                {
                    "service": service.slug,
                    "why": why,
                    "runbook": version.runbook.slug if version else None,
                    "title": version.runbook.title if version else None,
                    "version": version.number if version else None,
                },
            )
        )
    return decision


def eligible_versions(release: Release, service: Service | None, service_slug: str = ""):
    """Versions that may be linked: of the service's runbooks, written after the release."""
    by_service = (
        {"runbook__service": service} if service else {"runbook__service__slug": service_slug}
    )
    return (
        RunbookVersion.objects.filter(created__gte=release.created, **by_service)
        .select_related("runbook")
        .order_by("runbook__title", "-number")
    )


def link_version(release: Release, service: Service, version: RunbookVersion | None, user):
    """Mark the service's checklist item done with ``version`` (``None`` unlinks it)."""
    if service.pk not in changed_services(release):
        raise _invalid("service", f"{release.key} does not change the behaviour of {service.slug}.")
    if release.state in CLOSED_STATES:
        raise IllegalTransition(f"{release.key} is {release.get_state_display().lower()}.")
    if version is not None:
        if version.runbook.service_id != service.pk:
            raise _invalid(
                "version",
                f"{version} is a runbook of {version.runbook.service.slug}, not of {service.slug}.",
            )
        if version.created < release.created:
            raise _invalid(
                "version",
                f"{version} was written before {release.key} was created; write a new version.",
            )
    with transaction.atomic():
        check, _ = RunbookCheck.objects.select_for_update().get_or_create(
            release=release, service=service
        )
        check.version, check.linked_by = version, user
        check.save_with_reason(
            f"linked {version}" if version else "unlinked the runbook version", user=user
        )
    return check
