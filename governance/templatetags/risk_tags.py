"""The release page's Risk tab and header badge: ``{% risk_panel release %}``, ``{% risk_badge release %}``."""

from django import template

from governance import risk

register = template.Library()


def _result(context, release) -> risk.RiskResult:
    """One assessment per release per page (the badge and the tab share it)."""
    cache = context.render_context.setdefault("risk_results", {})
    if release.pk not in cache:
        cache[release.pk] = risk.assess(release)
    return cache[release.pk]


@register.inclusion_tag("governance/risk_panel.html", takes_context=True)
def risk_panel(context, release):
    """Score, band and each factor (weight, value, points, why), plus the snapshots kept at
    each submission, newest first."""
    result = _result(context, release)
    snapshots = list(release.risk_assessments.select_related("assessed_by").order_by("-created"))
    # What the approvers decide on (the CAB board shows it) is the score kept at this round's
    # submission; the tab scores the release now. Both are shown when they differ.
    submitted = next(
        (s for s in snapshots if release.approval_round and s.round == release.approval_round),
        None,
    )
    differs = submitted is not None and (submitted.score, submitted.band) != (
        result.score,
        result.band,
    )
    return {
        "release": release,
        "result": result,
        "snapshots": snapshots,
        "submitted": submitted,
        "differs": differs,
        "moved": _moved(submitted.factors, result.factors) if differs else [],
    }


def _moved(then, now) -> list[dict]:
    """Factors whose points changed since the submission: label, points then and now."""
    before = {f["code"]: f for f in then or () if isinstance(f, dict)}
    out = []
    for factor in now:
        row = factor if isinstance(factor, dict) else factor.as_dict()
        old = before.get(row["code"], {}).get("points", 0)
        if old != row["points"]:
            out.append({"label": row["label"], "then": old, "now": row["points"]})
    return out


@register.inclusion_tag("governance/risk_band_badge.html", takes_context=True)
def risk_badge(context, release):
    """The header badge: the score now (the CAB board shows the one kept at submission)."""
    result = _result(context, release)
    return {"band": result.band, "score": result.score, "when": "now"}


@register.filter
def risk_points(factors) -> str:
    """ "Rollback readiness 15, Change type 4": the factors that scored, highest first."""
    rows = [f if isinstance(f, dict) else f.as_dict() for f in factors or ()]
    scored = sorted((r for r in rows if r.get("points")), key=lambda r: -r["points"])
    return ", ".join(f"{r['label']} {r['points']}" for r in scored) or "nothing scored"
