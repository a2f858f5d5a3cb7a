"""Team and domain scopes of an approval rule (used by adaptive approval thresholds, 8.7).

A rule with ``scopes`` applies only to releases that ship a service of one of those teams or
domains ("team:<slug>", "domain:<name>"); a rule with ``except_scopes`` does not apply to a
release whose services all belong to those teams or domains. Both empty (every rule written
before scopes existed) = the rule is unchanged: no reason is added and nothing is queried.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from releasemgr.decisions import Reason

PREFIXES = ("team:", "domain:")


def check(values, field: str) -> None:
    if not isinstance(values, list) or not all(
        isinstance(v, str) and v.startswith(PREFIXES) and len(v.split(":", 1)[1]) > 0
        for v in values
    ):
        raise ValidationError({field: 'Each entry is "team:<slug>" or "domain:<name>".'})


def snapshot_extra(rule) -> dict[str, Any]:
    """Only when set, so versions published before scopes existed diff the same as ever."""
    out = {}
    for name in ("scopes", "except_scopes"):
        value = getattr(rule, name, None)
        if value:
            out[name] = list(value)
    return out


def _service_scopes(release) -> list[set[str]]:
    cached = getattr(release, "_service_scopes", None)
    if cached is None:
        rows = release.release_services.values_list("service__team__slug", "service__domain")
        cached = [
            {f"team:{team}"} | ({f"domain:{domain}"} if domain else set()) for team, domain in rows
        ]
        release._service_scopes = cached
    return cached


def _words(values) -> str:
    return ", ".join(v.replace(":", " ", 1) for v in values)


def reasons(rule: dict, release) -> list[Reason]:
    out = []
    scopes = rule.get("scopes") or []
    if scopes:
        services = _service_scopes(release)
        hit = sorted({s for scope in services for s in scope if s in scopes})
        out.append(
            Reason(
                "scope",
                bool(hit),
                f"ships a service of {_words(hit)}"
                if hit
                else f"ships no service of {_words(scopes)}",
                {"scopes": scopes, "matched": hit},
            )
        )
    excluded = rule.get("except_scopes") or []
    if excluded:
        services = _service_scopes(release)
        all_out = bool(services) and all(scope & set(excluded) for scope in services)
        out.append(
            Reason(
                "except_scope",
                not all_out,
                f"all its services belong to {_words(excluded)} (excepted)"
                if all_out
                else f"not only services of {_words(excluded)}",
                {"except_scopes": excluded},
            )
        )
    return out


def describe_extra(rule: dict) -> list[str]:
    out = []
    if rule.get("scopes"):
        out.append("Ships a service of " + " or ".join(_words([s]) for s in rule["scopes"]))
    if rule.get("except_scopes"):
        out.append(
            "Except releases only of " + " or ".join(_words([s]) for s in rule["except_scopes"])
        )
    return out
