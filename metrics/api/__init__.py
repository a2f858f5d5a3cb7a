"""API of the metrics app: one module per area, each with ``register(router)`` and
``urlpatterns`` (listed in ``releasemgr.api.urls.METRICS_AREAS``)."""
