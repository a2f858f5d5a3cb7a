"""Shared helpers for the server-rendered UI: permissions, htmx, history, pagination."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.paginator import Paginator
from django.db import models
from django.shortcuts import render


class RoleRequiredMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Anonymous → login redirect; logged in without the permission → 403."""

    raise_exception = False

    def handle_no_permission(self):
        if self.request.user.is_authenticated:
            self.raise_exception = True
        return super().handle_no_permission()


# --- forms that create a thing shown once (a token's key, a webhook's secret) ----------------
#
# Their answer is the page that shows the secret, not a redirect (the secret is never stored in
# clear, not even in the session). A refresh or a double click re-posts the form: the form
# carries a one-time nonce, and the session remembers which nonce created which object (ids
# only), so the second post creates nothing and says where the first one is.

SUBMISSION_FIELD = "submission"
_REMEMBERED = 20


def new_submission() -> str:
    """A nonce for a create form's hidden ``submission`` field."""
    return secrets.token_urlsafe(16)


def earlier_submission(request, scope: str) -> int | None:
    """The id created by an earlier post of this very form (same nonce), or None."""
    nonce = request.POST.get(SUBMISSION_FIELD, "")
    return request.session.get(f"submitted:{scope}", {}).get(nonce) if nonce else None


def remember_submission(request, scope: str, pk: int) -> None:
    nonce = request.POST.get(SUBMISSION_FIELD, "")
    if not nonce:
        return
    key = f"submitted:{scope}"
    done = dict(list(request.session.get(key, {}).items())[-(_REMEMBERED - 1) :])
    done[nonce[:64]] = pk
    request.session[key] = done


def render_shown_once(request, template: str, context: dict, status: int = 200):
    """The page that shows a secret its one time: kept out of caches and the back/forward
    cache (``no-store``)."""
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def is_htmx(request) -> bool:
    """True for an htmx request that wants a partial, not a full page."""
    return bool(getattr(request, "htmx", False)) and not request.htmx.boosted


def paginate(request, queryset, per_page: int = 25):
    """Page of ``queryset`` for ``?page=``; out-of-range pages clamp to the last page."""
    paginator = Paginator(queryset, per_page)
    return paginator.get_page(request.GET.get("page"))


def _display(field, value, related: dict):
    """A history value as a person reads it: choice labels and related objects' names."""
    if value is None or value == "":
        return None
    if field.is_relation:
        return related.get((field.related_model, value), f"#{value}")
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()  # the template's "Y-m-d H:i" date filter fails on a date
    return value


def history_rows(obj: models.Model, limit: int = 50) -> list[dict]:
    """Who changed what and when (and why), newest first, for the History tab.

    Each row lists the fields that differ from the previous version, with
    choice labels and related objects' names (one query per related model).
    """
    records = list(
        obj.history.select_related("history_user").order_by("-history_date", "-history_id")[
            : limit + 1
        ]
    )
    diffs = []
    wanted: dict = {}
    for index, record in enumerate(records[:limit]):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if previous is not None and record.history_type == "~":
            # Compared by hand: diff_against() skips non-editable fields such as a release's state.
            for field in record.tracked_fields:
                old, new = getattr(previous, field.attname), getattr(record, field.attname)
                if field.name != "updated" and old != new:
                    changes.append((field, old, new))
                    if field.is_relation:
                        wanted.setdefault(field.related_model, set()).update(
                            v for v in (old, new) if v is not None
                        )
        diffs.append((record, changes))
    related = {
        (model, pk): str(instance)
        for model, pks in wanted.items()
        for pk, instance in model._default_manager.in_bulk(pks).items()
    }
    rows = []
    for record, changes in diffs:
        rows.append(
            {
                "date": record.history_date,
                "user": record.history_user,
                "type": {"+": "Created", "~": "Changed", "-": "Deleted"}[record.history_type],
                "reason": record.history_change_reason or "",
                "via": getattr(record, "history_via", ""),
                "changes": [
                    {
                        "field": field.verbose_name,
                        "old": _display(field, old, related),
                        "new": _display(field, new, related),
                    }
                    for field, old, new in changes
                ],
            }
        )
    return rows
