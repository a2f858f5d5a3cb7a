# PLACEHOLDER until the vulnerabilities pages are built.
urlpatterns = []
