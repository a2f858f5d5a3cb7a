from django.contrib.auth import views as auth_views
from django.urls import path

from releasemgr import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("tokens/", views.TokenListView.as_view(), name="token_list"),
    path("tokens/new/", views.TokenCreateView.as_view(), name="token_create"),
    path("tokens/<int:pk>/", views.TokenDetailView.as_view(), name="token_detail"),
    path("tokens/<int:pk>/revoke/", views.TokenRevokeView.as_view(), name="token_revoke"),
]
