# PLACEHOLDER: owned by the accounts/catalog/scheduling UI helper; replace with real views.
from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import TemplateView

stub = TemplateView.as_view(template_name="base.html")
urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tokens/", stub, name="token_list"),
    path("tokens/<int:pk>/", stub, name="token_detail"),
]
