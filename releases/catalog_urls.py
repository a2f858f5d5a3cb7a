# PLACEHOLDER: owned by the accounts/catalog/scheduling UI helper; replace with real views.
from django.urls import path
from django.views.generic import TemplateView

stub = TemplateView.as_view(template_name="base.html")
urlpatterns = [
    path("services/", stub, name="service_list"),
    path("services/<slug:slug>/", stub, name="service_detail"),
    path("teams/", stub, name="team_list"),
    path("teams/<slug:slug>/", stub, name="team_detail"),
]
