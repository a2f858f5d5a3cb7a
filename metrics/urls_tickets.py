"""Ticket triage pages (6.5), under /stabilisation/."""

from django.urls import path

from metrics import views_tickets as views

urlpatterns = [
    path("tickets/", views.TicketListView.as_view(), name="support_ticket_list"),
    path("tickets/import/", views.TicketImportView.as_view(), name="support_ticket_import_create"),
    path("tickets/<int:pk>/", views.TicketDetailView.as_view(), name="support_ticket_detail"),
    path(
        "tickets/<int:pk>/override/",
        views.TicketOverrideView.as_view(),
        name="support_ticket_override_edit",
    ),
]
