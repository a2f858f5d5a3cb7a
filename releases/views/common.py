"""Small helpers shared by the release, deployment and gate pages."""

from __future__ import annotations

from django import forms

from releasemgr.web import paginate


def bootstrap_filter_form(form: forms.Form) -> forms.Form:
    """Give a FilterSet's form compact Bootstrap widgets (the FilterSet itself stays shared)."""
    for field in form.fields.values():
        if isinstance(field.widget, forms.CheckboxSelectMultiple):
            continue
        if isinstance(field, forms.DateTimeField):
            field.widget = forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            )
        if getattr(field, "empty_label", None) is not None:
            # Both Django's and django-filter's choice fields read it when rendering.
            field.empty_label = "Any"
            # The widget may hold an iterator bound to the FilterSet's original field.
            field.widget.choices = field.choices
        if isinstance(field.widget, forms.Select):
            field.widget.attrs["class"] = "form-select form-select-sm"
        else:
            field.widget.attrs["class"] = "form-control form-control-sm"
    return form


FILTER_LABELS = {
    "planned_after": "Planned from",
    "planned_before": "Planned before",
    "started_after": "Started from",
    "started_before": "Started before",
    "q": "Search",
    "release": "Release key",
    "service": "Service",
    "environment": "Environment",
}


def filtered_page(request, filterset_class, queryset, per_page: int = 25):
    """(filterset, page) for a list page; the FilterSet is the one the API uses."""
    filterset = filterset_class(request.GET or None, queryset=queryset, request=request)
    bootstrap_filter_form(filterset.form)
    for name, label in FILTER_LABELS.items():
        if name in filterset.form.fields:
            filterset.form.fields[name].label = label
    page = paginate(request, filterset.qs, per_page)
    return filterset, page


def active_filter_count(filterset) -> int:
    if not filterset.is_bound:
        return 0
    return sum(
        1
        for name in filterset.form.fields
        if name != "page" and any(v.strip() for v in filterset.data.getlist(name))
    )


def related_history_rows(records, label, limit: int = 100) -> list[dict]:
    """History rows (like ``releasemgr.web.history_rows``) for many objects of one model.

    ``records`` is a historical queryset (e.g. ``ScopeItem.history.filter(release_id=...)``);
    ``label(record)`` names the object each row is about. One query.
    """
    newest = list(
        records.select_related("history_user").order_by("-history_date", "-history_id")[:limit]
    )
    newest.reverse()
    previous: dict = {}
    rows = []
    for record in newest:
        prev = previous.get(record.id)
        changes = []
        if prev is not None and record.history_type == "~":
            # By hand, like history_rows: diff_against() skips non-editable fields.
            changes = [
                {
                    "field": f.name,
                    "old": getattr(prev, f.attname),
                    "new": getattr(record, f.attname),
                }
                for f in record.tracked_fields
                if f.name != "updated" and getattr(prev, f.attname) != getattr(record, f.attname)
            ]
        previous[record.id] = record
        rows.append(
            {
                "date": record.history_date,
                "user": record.history_user,
                "type": {"+": "Created", "~": "Changed", "-": "Deleted"}[record.history_type],
                "reason": record.history_change_reason or "",
                "changes": changes,
                "object": label(record),
            }
        )
    rows.reverse()
    return rows
