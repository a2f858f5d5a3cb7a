"""Checklist refinement (curriculum 8.5): learn from what keeps going wrong.

Over a period (post-mortems by ``created``, checklist runs by ``created``):
- a contributing-factor **tag** or **category** found in at least two post-mortems, and
- a checklist item (same key) **failed** in at least two runs of the template
are recurring. Each recurring one becomes a proposed checklist item (text derived from the
tag/category/item, with the evidence: which post-mortems or runs), unless the template's
current version already covers it (an item with the proposal's key, or, for a tag, an item
whose key contains the tag). A release manager accepts some or all proposals into a new
version of the template (number + 1, recording the proposals it came from).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

from django.db.models import Count
from django.urls import reverse

from metrics import checklists
from metrics.models.checklists import ChecklistRunItem, ChecklistTemplate, RunItemStatus
from metrics.models.postmortems import ContributingFactor, FactorCategory
from metrics.periods import Filters
from releasemgr.decisions import Reason

ACCEPT_PERMISSION = "metrics.add_checklistversion"
MIN_RECURRENCE = 2


@dataclass
class Proposal:
    key: str
    text: str
    source: str  # tag | category | failed_item
    subject: str  # the tag, category or item key
    count: int
    evidence: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Refinement:
    template: ChecklistTemplate
    current_number: int | None
    proposals: list[Proposal]
    covered: list[Proposal]


def _pm_evidence(pm_id: int, title: str) -> dict:
    return {
        "kind": "post_mortem",
        "id": pm_id,
        "label": f"PM-{pm_id}: {title}",
        "url": reverse("postmortem_detail", args=[pm_id]),
    }


def recurring(filters: Filters, template: ChecklistTemplate) -> list[Proposal]:
    """Every recurring tag, category and failed item in the period, most frequent first."""
    factors = ContributingFactor.objects.filter(
        filters.in_period("postmortem__created")
    ).values_list("postmortem_id", "postmortem__title", "tags", "category")
    by_tag: dict[str, dict[int, str]] = defaultdict(dict)
    by_category: dict[str, dict[int, str]] = defaultdict(dict)
    for pm_id, title, tags, category in factors:
        for tag in tags or []:
            by_tag[tag][pm_id] = title
        by_category[category][pm_id] = title
    out = []
    for tag, pms in by_tag.items():
        if len(pms) >= MIN_RECURRENCE:
            words = tag.replace("-", " ")
            out.append(
                Proposal(
                    key=f"pm-{tag}"[:100],
                    text=f"Check for {words} before deploying (recurring contributing factor "
                    f"in {len(pms)} post-mortems)."[:300],
                    source="tag",
                    subject=tag,
                    count=len(pms),
                    evidence=[_pm_evidence(i, t) for i, t in sorted(pms.items())],
                )
            )
    for category, pms in by_category.items():
        if len(pms) >= MIN_RECURRENCE:
            label = (
                FactorCategory(category).label.lower()
                if category in FactorCategory.values
                else category
            )
            out.append(
                Proposal(
                    key=f"pm-category-{category}",
                    text=f"Review the {label} of this change with the team before deploying "
                    f"({label} factors recurred in {len(pms)} post-mortems).",
                    source="category",
                    subject=category,
                    count=len(pms),
                    evidence=[_pm_evidence(i, t) for i, t in sorted(pms.items())],
                )
            )
    failed = (
        ChecklistRunItem.objects.filter(
            filters.in_period("run__created"),
            run__version__template=template,
            status=RunItemStatus.FAILED,
        )
        .values("key")
        .annotate(n=Count("run", distinct=True))
        .filter(n__gte=MIN_RECURRENCE)
    )
    counts = {row["key"]: row["n"] for row in failed}
    if counts:
        runs: dict[str, list[dict]] = defaultdict(list)
        texts: dict[str, str] = {}
        for key, text, run_id, dep_id in (
            ChecklistRunItem.objects.filter(
                filters.in_period("run__created"),
                run__version__template=template,
                status=RunItemStatus.FAILED,
                key__in=counts,
            )
            .order_by("run_id")
            .values_list("key", "text", "run_id", "run__deployment_id")
        ):
            texts[key] = text
            runs[key].append(
                {
                    "kind": "checklist_run",
                    "id": run_id,
                    "label": f"run #{run_id} (deployment #{dep_id})",
                    "url": reverse("deployment_detail", args=[dep_id]) + "#checklist",
                }
            )
        for key, n in counts.items():
            out.append(
                Proposal(
                    key=f"{key}-double-check"[:100],
                    text=f"Before starting, have a second person confirm: {texts[key]} "
                    f"(failed in {n} runs)."[:300],
                    source="failed_item",
                    subject=key,
                    count=n,
                    evidence=runs[key],
                )
            )
    out.sort(key=lambda p: (-p.count, p.key))
    return out


def _covered(proposal: Proposal, keys: set[str]) -> bool:
    if proposal.key in keys:
        return True
    return proposal.source == "tag" and any(proposal.subject in k for k in keys)


def refine(filters: Filters, template: ChecklistTemplate) -> Refinement:
    version = checklists.current_version(template)
    keys = {i["key"] for i in (version.items if version else [])}
    found = recurring(filters, template)
    return Refinement(
        template=template,
        current_number=version.number if version else None,
        proposals=[p for p in found if not _covered(p, keys)],
        covered=[p for p in found if _covered(p, keys)],
    )


def accept(user, template: ChecklistTemplate, filters: Filters, keys: list[str]):
    """A new version: the current items plus the chosen proposals (recomputed now, so only
    proposals that still stand are accepted)."""
    from releasemgr.decisions import require_permission

    require_permission(user, ACCEPT_PERMISSION, "accept checklist proposals")
    keys = [k for k in dict.fromkeys(keys or []) if k]
    if not keys:
        raise checklists.InvalidInput(
            "Choose at least one proposal to accept.",
            [Reason("keys", False, "Choose at least one proposal to accept.", {"field": "keys"})],
        )
    result = refine(filters, template)
    by_key = {p.key: p for p in result.proposals}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        message = (
            f"No open proposal {', '.join(unknown)} for {template.name} in this period "
            "(already accepted, or no longer recurring)."
        )
        raise checklists.InvalidInput(message, [Reason("keys", False, message, {"field": "keys"})])
    chosen = [by_key[k] for k in keys]
    current = checklists.current_version(template)
    items = list(current.items if current else []) + [
        {"key": p.key, "text": p.text} for p in chosen
    ]
    return checklists.add_version(
        user,
        template,
        items,
        f"accepted {len(chosen)} proposal{'s' if len(chosen) != 1 else ''}: "
        + ", ".join(p.key for p in chosen),
        proposals=[p.as_dict() | {"period": filters.as_query()} for p in chosen],
    )
