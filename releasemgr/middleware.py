"""Request checks that apply to every page and endpoint."""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse

NUL = "\x00"


class RejectNulBytesMiddleware:
    """A query string with a NUL character is bad input (400), for every view.

    Forms and filtersets refuse NUL already, but a view that reads a parameter itself would
    pass it to the database, and PostgreSQL cannot hold NUL in text: a 500 instead of a 400.
    """

    message = "Query parameters may not contain NUL (0x00) characters."

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any(NUL in key or any(NUL in v for v in values) for key, values in request.GET.lists()):
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": self.message, "code": "invalid"}, status=400)
            return HttpResponseBadRequest(self.message)
        return self.get_response(request)
