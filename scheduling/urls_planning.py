# PLACEHOLDER until the planning pages are built.
urlpatterns = []
