# PLACEHOLDER: owned by the releases UI helper; replace with real views.
from django.urls import path
from django.views.generic import TemplateView

stub = TemplateView.as_view(template_name="base.html")
urlpatterns = [
    path("", stub, name="dashboard"),
    path("releases/", stub, name="release_list"),
    path("releases/<str:key>/", stub, name="release_detail"),
    path("deployments/", stub, name="deployment_list"),
    path("deployments/<int:pk>/", stub, name="deployment_detail"),
    path("gate/<uuid:pk>/", stub, name="gate_decision_detail"),
]
