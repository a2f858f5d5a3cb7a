"""The filter form the metrics pages share (``templates/metrics/_filters.html``): the choices it
offers, the raw query it echoes back, and what a bad filter does to the page.

The filters themselves are ``metrics.periods`` (team / service / domain / period); this module
only serves the HTML side, so the dashboard, delivery and quality pages offer the same choices
and show bad input the same way (the messages, HTTP 400, nothing computed).

``metrics.periods`` words its messages for the API (parameter names, ``GET /api/v1/teams/``);
``web_errors`` rewords them for a person at the form: the labels they see ("From", "Until")
and what to do there (pick from the list).
"""

from __future__ import annotations

from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from metrics.periods import InvalidFilters
from releasemgr.decisions import Reason
from releases.models import Service, Team


def filter_context(request: HttpRequest) -> dict:
    """Teams, services and domains to choose from (lazy querysets: one query each, when the
    form is drawn) and the request's parameters, to keep what was typed on a bad request."""
    return {
        "teams": Team.objects.order_by("name").only("slug", "name"),
        "services": Service.objects.order_by("slug").only("slug", "name"),
        "domains": Service.objects.exclude(domain="")
        .order_by("domain")
        .values_list("domain", flat=True)
        .distinct(),
        "params": request.GET,
    }


# The form's labels (templates/metrics/_filters.html) for the query parameters they send.
LABELS = {"since": "From", "until": "Until"}


def _day(raw: str) -> str:
    """A date as the API's message writes it (2026-03-01), whatever ISO form was typed."""
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        return raw


def web_message(reason: Reason, params) -> str:
    """One refusal of ``metrics.periods`` in the words of the web form."""
    field = reason.data.get("field", "")
    value = (params.get(field) or "").strip()
    if reason.code == "unknown_team":
        return f"No team '{value}'. Pick one from the Team list."
    if reason.code == "unknown_service":
        return f"No service '{value}'. Pick one from the Service list."
    if reason.code == "period_order":
        since, until = (_day((params.get(k) or "").strip()) for k in ("since", "until"))
        if since == until:
            return (
                f"The period is empty: “Until” must be a later day than “From” "
                f"(Until is exclusive, so {since} to {until} holds no day)."
            )
        return (
            f"The period ends ({until}) before it starts ({since}): "
            "“Until” must be a later day than “From” (Until is exclusive)."
        )
    label = LABELS.get(field)
    if label and reason.message.startswith(f"{field}: "):
        return f"{label}: {reason.message.removeprefix(f'{field}: ')}"
    return reason.message


def web_errors(exc: InvalidFilters, params) -> dict[str, list[str]]:
    """``InvalidFilters.field_errors`` reworded for the form (same fields, web words)."""
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        field = reason.data.get("field", "non_field_errors")
        errors.setdefault(field, []).append(web_message(reason, params))
    return errors


def bad_filters(
    request: HttpRequest, template: str, context: dict, exc: InvalidFilters
) -> HttpResponse:
    """The page with the form, each field's message and HTTP 400 (no figures)."""
    context["errors"] = web_errors(exc, request.GET)
    return render(request, template, context, status=400)
