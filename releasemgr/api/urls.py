from django.urls import include, path
from rest_framework.routers import DefaultRouter

from governance.api.views import ApprovalViewSet
from releases.api import views as rv
from scheduling.api.views import EnvironmentViewSet, FreezeWindowViewSet

router = DefaultRouter()
router.register("teams", rv.TeamViewSet)
router.register("services", rv.ServiceViewSet)
router.register("service-dependencies", rv.ServiceDependencyViewSet)
router.register("releases", rv.ReleaseViewSet)
router.register("scope-items", rv.ScopeItemViewSet)
router.register("approvals", ApprovalViewSet)
router.register("environments", EnvironmentViewSet)
router.register("freeze-windows", FreezeWindowViewSet)
router.register("deployments", rv.DeploymentViewSet)
router.register("gate-decisions", rv.GateDecisionViewSet)

app_name = "api"
urlpatterns = [
    path("gate/", rv.GateView.as_view(), name="gate"),
    path("", include(router.urls)),
]
