"""Segregation of duties: who may not approve, sign off or deploy a release they helped make.

One module, used by the lifecycle (approve / reject), the gate (production
deployments), and the residual-risk acceptance. The people who *made* a
release are its author, the contributors of its scope items, and the pipeline
service accounts of the teams owning the services it ships (a team's pipeline
builds that team's changes, so it must not also be the one to ship them).

``check`` answers with one ``Reason`` (code ``segregation_of_duties``);
``refuse`` writes a refusal to the decision log. Refusals are recorded even
when the refused request's transaction rolls back: callers append them after
leaving their atomic block (see ``releases.lifecycle._decide``).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from governance.choices import DecisionKind
from releasemgr.decisions import Reason
from releasemgr.roles import PIPELINE

CODE = "segregation_of_duties"

# What each act is called in a sentence ("... and cannot <phrase>").
ACTS = {
    "approve": "approve it",
    "reject": "reject it",
    "sign_off": "sign it off",
    "accept_risk": "accept its residual risk",
    "deploy_production": "deploy it to production",
}

RELATIONS = {
    "author": "authored",
    "contributor": "contributed a change to",
    "team_pipeline": "is a pipeline account of a team that owns a service in",
}


def _load(releases) -> dict[int, dict[int, str]]:
    """User id → relation for each release, in two queries whatever the number of releases."""
    from releases.models import ScopeItem

    User = get_user_model()
    per: dict[int, dict[int, str]] = {r.pk: {} for r in releases}
    link = "teams__services__release_links__release_id"
    pipelines = (
        User.objects.filter(groups__name=PIPELINE, **{f"{link}__in": list(per)})
        .values_list("pk", link)
        .distinct()
    )
    for uid, rid in pipelines:
        per[rid][uid] = "team_pipeline"
    # Scope items already prefetched (the release page) are read, not queried again.
    loaded = [r for r in releases if "scope_items" in getattr(r, "_prefetched_objects_cache", {})]
    for release in loaded:
        for item in release.scope_items.all():
            if item.contributor_id:
                per[release.pk][item.contributor_id] = "contributor"
    others = [pk for pk in per if pk not in {r.pk for r in loaded}]
    if others:
        for rid, uid in ScopeItem.objects.filter(
            release_id__in=others, contributor__isnull=False
        ).values_list("release_id", "contributor_id"):
            per[rid][uid] = "contributor"
    for release in releases:
        if release.author_id:
            per[release.pk][release.author_id] = "author"
    return per


def prime(releases) -> None:
    """Load the relations of many releases at once (pages listing them); see ``policy.prime``."""
    releases = list(releases)
    per = _load(releases)
    for release in releases:
        release._sod_relations = per[release.pk]


def contributor_relations(release) -> dict[int, str]:
    """User id → how they helped make the release: author, contributor or team_pipeline."""
    cached = getattr(release, "_sod_relations", None)
    if cached is not None:
        return cached
    return _load([release])[release.pk]


def contributors(release) -> set[int]:
    """Ids of the users who authored or contributed to ``release`` (see the module docstring)."""
    return set(contributor_relations(release))


def check(user, release, act: str, relations: dict[int, str] | None = None) -> Reason:
    """May ``user`` perform ``act`` on ``release`` as far as segregation of duties goes?

    ``relations`` (from ``contributor_relations``) saves the queries when the caller has it.
    """
    if act not in ACTS:
        raise ValueError(f"Unknown act '{act}'; one of {', '.join(ACTS)}.")
    verb = ACTS[act]
    if relations is None:
        relations = contributor_relations(release)
    name = user.get_username() if user is not None else "The caller"
    relation = relations.get(getattr(user, "pk", None))
    if relation is None:
        return Reason(
            CODE,
            True,
            f"{name} did not author or contribute to {release.key}.",
            {"act": act, "user": name},
        )
    return Reason(
        CODE,
        False,
        f"{name} {RELATIONS[relation]} {release.key} and cannot {verb} (segregation of duties).",
        {"act": act, "user": name, "relation": relation},
    )


def refuse(user, release, act: str, reason: Reason, *, subject: str = "", data=None):
    """Append a SOD_REFUSAL entry to the decision log (outside the refused transaction)."""
    from governance import decision_log

    return decision_log.append(
        kind=DecisionKind.SOD_REFUSAL,
        outcome="refused",
        summary=reason.message,
        actor=user,
        release=release,
        subject=subject or f"release:{release.key}",
        reasons=[reason],
        data={"act": act, **(data or {})},
    )


def record_gate_refusal(result, user) -> None:
    """A gate answer that failed segregation of duties leaves a SOD_REFUSAL entry."""
    failed = next((r for r in result.decision.failed if r.code == CODE), None)
    if failed is None or result.release is None:
        return
    record = getattr(result, "record", None)
    refuse(
        user,
        result.release,
        "deploy_production",
        failed,
        subject=f"gate-decision:{record.pk}" if record is not None else "",
        data={"gate_status": result.status},
    )
