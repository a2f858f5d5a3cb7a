"""The filter form the metrics pages share (``templates/metrics/_filters.html``): the choices it
offers, the raw query it echoes back, and what a bad filter does to the page.

The filters themselves are ``metrics.periods`` (team / service / domain / period); this module
only serves the HTML side, so the dashboard, delivery and quality pages offer the same choices
and show bad input the same way (the messages, HTTP 400, nothing computed).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from metrics.periods import InvalidFilters
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


def bad_filters(
    request: HttpRequest, template: str, context: dict, exc: InvalidFilters
) -> HttpResponse:
    """The page with the form, each field's message and HTTP 400 (no figures)."""
    context["errors"] = exc.field_errors()
    return render(request, template, context, status=400)
