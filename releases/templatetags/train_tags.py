"""The release page's "Train and shared libraries" panel (Scope tab)."""

from django import template

from releases import libraries
from releases.models.trains import TrainCar

register = template.Library()


@register.inclusion_tag("releases/train_panel.html", takes_context=True)
def train_panel(context, release):
    """The train the release rides (and its departure), its library pins (with links to pin,
    re-pin or unpin while the release is editable), and the library conflicts it is part of
    (shown on both releases of a pin conflict).

    Two queries, plus five for the conflicts when the release pins a library (a flag needs a
    pin of this release), whatever the catalog's size.
    """
    car = TrainCar.objects.filter(release=release).select_related("train").first()
    pins = list(release.library_pins.select_related("library"))
    flags = libraries.conflicts(release) if pins else []
    user = getattr(context.get("request"), "user", None)
    editable = release.is_editable and user is not None

    def may(action: str) -> bool:
        return editable and user.has_perm(f"releases.{action}_releaselibrarypin")

    return {
        "can_add_pin": may("add"),
        "can_change_pins": may("change"),
        "can_delete_pins": may("delete"),
        "release": release,
        "car": car,
        "pins": pins,
        "flags": flags,
        "request": context.get("request"),
    }
