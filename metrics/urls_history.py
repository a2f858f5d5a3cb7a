from django.urls import path

from metrics import views_history

urlpatterns = [
    path("import/", views_history.HistoryImportView.as_view(), name="history_import_add"),
]
