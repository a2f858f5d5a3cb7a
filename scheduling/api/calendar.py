# PLACEHOLDER until the calendar API is built: register viewsets on the router, add paths below.


def register(router):
    pass


urlpatterns = []
