"""Server logs never carry secrets (DESIGN rule 6): a filter on the console handler.

``RedactingFilter`` rewrites each record's final message (arguments merged) and its formatted
traceback with ``releasemgr.redaction.redact`` before any handler writes it, so a token in a
request path (``?token=…``), a pipeline URL with a password or a key in an exception message
reaches the log as ``[REDACTED]``.

Structured logs (issue 8): ``RequestContextFilter`` adds the request id, user or token, route
and method of the request being served (set through context variables by
``releasemgr.middleware.RequestObservabilityMiddleware``) and the Celery task's name and id;
``JsonFormatter`` (``LOG_FORMAT=json``) writes one JSON object per line and redacts every field
itself; ``PlainFormatter`` is the ``make run`` format. A small formatter of our own rather than
python-json-logger: it is one class, and redaction of each field has to be ours anyway.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

from celery import signals
from celery._state import get_current_task
from django.utils.functional import SimpleLazyObject, empty

from releasemgr.redaction import redact, redact_data

_formatter = logging.Formatter()


class RedactingFilter(logging.Filter):
    """Redacts the record in place; never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, redacted
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


# --- Structured logs (issue 8): request context, JSON and plain formatters ---------------------

_current_request: contextvars.ContextVar = contextvars.ContextVar("request", default=None)
_current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# An incoming X-Request-ID is kept only if it looks like an id: a proxy's UUID or trace id, not
# free text that would let a client write what it likes into every log line.
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
# Routes a load balancer or Prometheus asks every few seconds: their request lines are DEBUG.
PROBE_ROUTES = frozenset({"healthz", "readyz", "prometheus_metrics"})
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_id_from(header: str | None) -> str:
    """The client's (or proxy's) X-Request-ID when it is sane, else a new one."""
    if header and REQUEST_ID_RE.match(header):
        return header
    return uuid.uuid4().hex


def bind_request(request, request_id: str) -> tuple:
    """Make ``request`` the one log records describe until ``unbind_request``."""
    return _current_request.set(request), _current_request_id.set(request_id)


def unbind_request(tokens: tuple) -> None:
    _current_request.reset(tokens[0])
    _current_request_id.reset(tokens[1])


def route_of(request) -> str:
    """The URL pattern's name (``release_detail``), never the raw path: a bounded label."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match.route or "unnamed"
    from django.conf import settings

    if settings.STATIC_URL and request.path.startswith(settings.STATIC_URL):
        return "static"
    return "unmatched"


def method_of(request) -> str:
    return request.method if request.method in KNOWN_METHODS else "other"


def user_of(request) -> str:
    """``token:<name>`` for an API token, the username for a session, ``anonymous``, or ``""``
    while nothing has looked the user up yet (logging never adds a query of its own)."""
    token = getattr(request, "api_token", None)
    if token is not None:
        return f"token:{token.name}"
    user = request.__dict__.get("user")
    if user is None:
        return ""
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return ""
    if not getattr(user, "is_authenticated", False):
        return "anonymous"
    return user.get_username()


class RequestContextFilter(logging.Filter):
    """Adds ``request_id``, ``user``, ``route`` and ``method`` of the request being served, and
    ``task_name`` / ``task_id`` of the Celery task being run, to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = _current_request.get()
        if request is not None:
            record.request_id = _current_request_id.get()
            if not hasattr(record, "route"):
                record.route = route_of(request)
            if not hasattr(record, "method"):
                record.method = method_of(request)
            if not hasattr(record, "user"):
                record.user = user_of(request)
        task = get_current_task()
        if task is not None and task.request is not None and task.request.id:
            record.task_name = task.name
            record.task_id = task.request.id
        return True


# Attributes every LogRecord has; anything else on a record came with ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_CONTEXT = ("request_id", "user", "route", "method", "status", "duration_ms")
# Django's request logger passes the request object: we log its route and method instead.
_SKIP = frozenset({"request", "server_time"})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request context (request_id,
    user, route, method; status and duration_ms on the request line), task_name/task_id in a
    Celery task, exception text, and any ``extra=`` fields.

    Redaction is applied here as well as by ``RedactingFilter``: the message and the traceback
    with ``redact``, every other field with ``redact_data`` (so an extra named ``password``
    is blanked whatever its value), whether or not the handler has the filter."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg} {record.args!r}"
        entry: dict = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(message),
        }
        for key in _CONTEXT:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        extra = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _STANDARD and key not in _SKIP and key not in entry
        }
        entry.update(redact_data(_jsonable(extra)))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack_info"] = redact(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _jsonable(value):
    """Plain data for ``redact_data``: objects become their ``str``."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


class PlainFormatter(logging.Formatter):
    """``time LEVEL logger message`` followed by the request id and user, or the Celery task,
    when there is one: the ``make run`` format."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = []
        if getattr(record, "request_id", ""):
            context.append(f"request_id={record.request_id}")
        if getattr(record, "user", ""):
            context.append(f"user={record.user}")
        if getattr(record, "task_id", ""):
            context.append(f"task={record.task_name}[{record.task_id}]")
        if not context:
            return line
        first, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{first} [{' '.join(context)}]{newline}{rest}"


class QuietProbesFilter(logging.Filter):
    """Drops runserver's INFO request lines for /healthz, /readyz and /metrics (asked every few
    seconds by a load balancer or Prometheus); a failing probe (4xx/5xx) is still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO or not isinstance(record.args, tuple) or not record.args:
            return True
        request_line = str(record.args[0])  # "GET /healthz HTTP/1.1"
        parts = request_line.split(" ")
        path = parts[1].split("?")[0] if len(parts) > 1 else ""
        return path not in PROBE_PATHS


@signals.setup_logging.connect(weak=False)
def keep_django_logging(**kwargs):
    """Celery workers and beat log through ``settings.LOGGING`` (JSON or plain, redacted, with
    the task's name and id) instead of replacing the root handler with Celery's own.

    Connected when Django configures logging (``LOGGING`` names this module's filters), which
    happens in ``django.setup()`` before Celery sends ``setup_logging`` in a worker or beat:
    receiving the signal is what stops Celery from configuring logging itself."""
