# PLACEHOLDER until the exceptions pages are built.
urlpatterns = []
