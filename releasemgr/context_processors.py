from django.conf import settings

from releasemgr.roles import user_roles


def navigation(request):
    return {
        "user_roles": sorted(user_roles(request.user)),
        "debug": settings.DEBUG,
    }


def notifications(request):
    """The navbar bell's unread count: one COUNT query, and only if a template shows it."""
    from django.utils.functional import SimpleLazyObject

    from releasemgr.notifications import unread_count

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user))}
