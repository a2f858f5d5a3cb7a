# PLACEHOLDER until the exceptions API is built: register viewsets on the router, add paths below.


def register(router):
    pass


urlpatterns = []
