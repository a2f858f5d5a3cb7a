# PLACEHOLDER until the calendar pages are built.
urlpatterns = []
