from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from releasemgr import observability, views_jobs, views_signins

urlpatterns = [
    # Probes and Prometheus (releasemgr.observability), without a trailing slash;
    # "metrics/" with the slash is the app's metrics pages.
    path("healthz", observability.healthz, name="healthz"),
    path("readyz", observability.readyz, name="readyz"),
    path("metrics", observability.prometheus_metrics, name="prometheus_metrics"),
    path("favicon.ico", RedirectView.as_view(url=settings.STATIC_URL + "favicon.svg")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("releasemgr.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api_docs"),
    # Single sign-on (releasemgr.sso): 404 unless OIDC_RP_CLIENT_ID is set.
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("", include("releasemgr.web_urls")),
    path("", include("releasemgr.urls_notifications")),
    path("jobs/", views_jobs.JobRunListView.as_view(), name="job_run_list"),
    path("security/sign-ins/", views_signins.SigninListView.as_view(), name="signin_list"),
    path(
        "security/sign-ins/unlock/",
        views_signins.SigninUnlockView.as_view(),
        name="signin_unlock",
    ),
    path("catalog/", include("releases.catalog_urls")),
    path("", include("scheduling.urls")),
    path("governance/", include("governance.urls")),
    path("stabilisation/", include("metrics.urls")),
    path("metrics/", include("metrics.urls_metrics")),
    path("", include("releases.urls")),
]
