# PLACEHOLDER: owned by the accounts/catalog/scheduling UI helper; replace with real views.
from django.urls import path
from django.views.generic import TemplateView

stub = TemplateView.as_view(template_name="base.html")
urlpatterns = [
    path("environments/", stub, name="environment_list"),
    path("environments/<slug:slug>/", stub, name="environment_detail"),
    path("freezes/", stub, name="freeze_list"),
    path("freezes/<int:pk>/", stub, name="freeze_detail"),
]
