from django.conf import settings

from releasemgr.roles import user_roles


def navigation(request):
    return {
        "user_roles": sorted(user_roles(request.user)),
        "debug": settings.DEBUG,
    }
