"""``{% kpi_panel release %}``: the KPI watch on the release page's Stabilisation tab."""

from django import template

from metrics import stabilisation
from metrics.forms_kpis import AcknowledgeForm, WindowHoursForm
from metrics.models import StabilisationWindow

register = template.Library()


@register.inclusion_tag("metrics/kpi_panel.html", takes_context=True)
def kpi_panel(context, release):
    from metrics.views_kpis import window_context

    request = context["request"]
    windows = list(
        StabilisationWindow.objects.filter(release=release)
        .select_related("release", "deployment", "deployment__environment")
        .order_by("-opened_at", "-pk")
    )
    out = {
        "release": release,
        "request": request,
        "windows": windows,
        "perms": context.get("perms"),
        "default_hours": stabilisation.window_hours(),
    }
    if windows:
        out.update(window_context(request, windows[0]))
        out["hours_form"] = WindowHoursForm(initial={"hours": windows[0].hours})
        out["ack_form"] = AcknowledgeForm()
        out["older"] = windows[1:]
    return out


@register.inclusion_tag("metrics/verdict_badge.html")
def verdict_badge(window):
    return {"window": window}


@register.filter
def measure(value) -> str:
    """A measured value with at most three decimals and no trailing zeros (206.8, 0.21, 3)."""
    if value is None or value == "":
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{number:.3f}".rstrip("0").rstrip(".")
