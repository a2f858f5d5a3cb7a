# PLACEHOLDER until the reservations pages are built.
urlpatterns = []
