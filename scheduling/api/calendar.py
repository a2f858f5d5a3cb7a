"""Calendar API: ``/api/v1/windows/`` (every kind, plus ``applicable/``: what applies now) and
``/api/v1/regions/`` (with ``{code}/import-holidays/``). ``/api/v1/freeze-windows/`` stays
registered in ``releasemgr.api.urls`` under its public name."""

from scheduling.api.views import RegionViewSet, WindowViewSet


def register(router):
    router.register("windows", WindowViewSet, basename="window")
    router.register("regions", RegionViewSet)


urlpatterns = []
