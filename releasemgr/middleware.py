"""Request checks that apply to every page and endpoint."""

from __future__ import annotations

import time

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.log import log_response

from releasemgr import observability
from releasemgr.logging import bind_request, request_id_from, unbind_request

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


class RequestObservabilityMiddleware:
    """First in the stack: gives each request an id, times it, counts it for Prometheus and
    writes its log line (``releasemgr.observability``).

    The id is the client's ``X-Request-ID`` when it looks like one (see
    ``releasemgr.logging.request_id_from``), else a new one; it is echoed in the response's
    ``X-Request-ID`` and carried by every log record written while the request is served.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        bound = bind_request(request, request.request_id)
        started = time.perf_counter()
        status = 500  # if an exception escapes every handler
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = request.request_id
            if status >= 400:
                # Django writes its "Not Found: /path" line after the last middleware returned,
                # outside this request's context; written here, it carries the request id.
                # (log_response marks the response, so Django does not write it twice.)
                log_response(
                    "%s: %s",
                    response.reason_phrase,
                    request.path,
                    response=response,
                    request=request,
                )
            return response
        finally:
            observability.request_finished(request, status, time.perf_counter() - started)
            unbind_request(bound)
