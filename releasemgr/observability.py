"""Health probes, Prometheus metrics and the request log line (issue 8, "Operating it").

- ``/healthz``: the process is up and answers; touches nothing else (no database, no session).
- ``/readyz``: the database answers a query and the Celery broker is reachable (Redis ``PING``
  when the broker is Redis, the folders of the filesystem broker writable otherwise); 200 with
  each check's result, 503 naming the checks that failed.
- ``/metrics``: Prometheus text format, for a bearer token (``METRICS_TOKEN``) or a client
  address in ``METRICS_ALLOWED_IPS``; anything else gets 403. (``/metrics/``, with the slash,
  is the metrics pages of the app.)

Metrics are labelled by route *name* (``release_detail``), never the raw path, so two releases
are one series. With ``PROMETHEUS_MULTIPROC_DIR`` set (gunicorn with several workers, and the
Celery worker on the same host), prometheus_client keeps each process's values in files there
and a scrape adds them up; without it, one process's registry is exposed.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from releasemgr.logging import PROBE_ROUTES, method_of, route_of, user_of

logger = logging.getLogger("releasemgr.request")
probe_logger = logging.getLogger("releasemgr.observability")

REQUESTS = Counter(
    "releasemgr_http_requests",
    "HTTP requests answered, by route name, method and status code.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "releasemgr_http_request_duration_seconds",
    "Time to answer an HTTP request, by route name, method and status code.",
    ["route", "method", "status"],
)
GATE_ANSWERS = Counter(
    "releasemgr_gate_answers",
    "Deployment gate answers recorded, by status (allowed, waiting, prevented).",
    ["status"],
)
JOBS = Counter(
    "releasemgr_jobs",
    "Background job runs finished, by job name and outcome (succeeded, failed, skipped).",
    ["job", "outcome"],
)


# --- hooks called by the request middleware, the gate and the job wrapper ---------------------


def request_finished(request, status: int, seconds: float) -> None:
    """Count and time one request, and write its log line (DEBUG for probes, INFO otherwise)."""
    route = route_of(request)
    method = method_of(request)
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method, str(status)).observe(seconds)
    level = logging.DEBUG if route in PROBE_ROUTES else logging.INFO
    if logger.isEnabledFor(level):
        logger.log(
            level,
            "%s %s %s",
            request.method,
            request.path,
            status,
            extra={
                "route": route,
                "method": method,
                "user": user_of(request),
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
            },
        )


def gate_answered(status: str) -> None:
    GATE_ANSWERS.labels(status).inc()


def counted_job(name: str, func):
    """``func`` (a job body already wrapped by ``releasemgr.jobs.recorded``) counting outcomes:
    an exception is ``failed``, a run the bookkeeping declined (``"skipped: …"``) is
    ``skipped``, anything else ``succeeded``."""

    @functools.wraps(func)
    def counting(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
        except Exception:
            JOBS.labels(name, "failed").inc()
            raise
        skipped = isinstance(result, str) and result.startswith("skipped")
        JOBS.labels(name, "skipped" if skipped else "succeeded").inc()
        return result

    return counting


# --- probes ------------------------------------------------------------------------------------


@dataclass
class Check:
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return {"ok": self.ok, "detail": self.detail}


def check_database(alias: str = "default") -> Check:
    """One real query on the database (not just an open socket)."""
    started = time.perf_counter()
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        # The reason goes to the log; the unauthenticated answer names only the kind of error.
        probe_logger.warning("readiness: database %r unreachable: %s", alias, exc)
        connection.close()  # never hand a broken connection to the next request
        return Check(False, f"unreachable ({type(exc).__name__})")
    return Check(True, f"SELECT 1 in {(time.perf_counter() - started) * 1000:.1f} ms")


def _broker_folders() -> list[Path]:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    keys = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
    return sorted({Path(options[key]) for key in keys if options.get(key)})


def _is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://", "unix://"))


def _redis_client():
    import redis

    timeout = settings.READYZ_TIMEOUT_SECONDS
    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )


def check_broker() -> Check:
    """Redis answers ``PING``, or each folder of the filesystem broker takes a file."""
    url = settings.CELERY_BROKER_URL
    if _is_redis(url):
        client = _redis_client()
        try:
            client.ping()
        except Exception as exc:
            probe_logger.warning("readiness: Redis broker unreachable: %s", exc)
            return Check(False, f"redis unreachable ({type(exc).__name__})")
        finally:
            client.close()
        return Check(True, "redis PING answered")
    if url.startswith("filesystem://"):
        for folder in _broker_folders():
            try:
                handle, name = tempfile.mkstemp(prefix=".readyz-", suffix=".tmp", dir=folder)
                os.close(handle)
                os.unlink(name)
            except OSError as exc:
                probe_logger.warning("readiness: broker folder %s not writable: %s", folder, exc)
                return Check(False, f"filesystem broker folder not writable ({folder.name})")
        return Check(True, "filesystem broker folders writable")
    return Check(True, "broker not checked (unknown transport)")


@never_cache
@require_safe
def healthz(request):
    """The process is up: no database, no broker, no session."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    failed = [name for name, check in checks.items() if not check.ok]
    return JsonResponse(
        {
            "status": "failing" if failed else "ok",
            "failed": failed,
            "checks": {name: check.as_dict() for name, check in checks.items()},
        },
        status=503 if failed else 200,
    )


# --- /metrics ----------------------------------------------------------------------------------


class QueueDepthCollector:
    """Messages waiting in the default Celery queue, read at scrape time: ``LLEN`` of the queue
    on Redis, the number of message files in the filesystem broker's in-folder otherwise."""

    def collect(self):
        queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
        depth = GaugeMetricFamily(
            "releasemgr_celery_queue_depth",
            "Messages waiting in the Celery queue (read at scrape time).",
            labels=["queue"],
        )
        up = GaugeMetricFamily(
            "releasemgr_celery_broker_up", "1 when the broker could be read at scrape time."
        )
        try:
            depth.add_metric([queue], self.depth(queue))
        except Exception as exc:
            probe_logger.warning("metrics: queue depth unavailable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield depth
        yield up

    @staticmethod
    def depth(queue: str) -> int:
        url = settings.CELERY_BROKER_URL
        if _is_redis(url):
            client = _redis_client()
            try:
                return int(client.llen(queue))
            finally:
                client.close()
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        suffix = f".{queue}.msg"
        return sum(1 for name in os.listdir(folder) if name.endswith(suffix))


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _client_allowed(request) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_IPS)))


def _token_matches(request) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, presented = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(presented.strip().encode(), expected.encode())


def metrics_allowed(request) -> bool:
    """A matching bearer token, or a client address in the allow-list."""
    return _token_matches(request) or _client_allowed(request)


class _ThisProcess:
    """The default registry's metrics (this process's counters and its process/GC metrics)."""

    def collect(self):
        return REGISTRY.collect()


def scrape_registry() -> CollectorRegistry:
    """What one scrape exposes: every process's values in multiprocess mode, else this
    process's, and the queue depth read now."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(QueueDepthCollector())
    return registry


@never_cache
@require_safe
def prometheus_metrics(request):
    if not metrics_allowed(request):
        return HttpResponse(
            "Forbidden: /metrics needs 'Authorization: Bearer <METRICS_TOKEN>' or a client "
            "address in METRICS_ALLOWED_IPS.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    # Prometheus' Accept header picks the format (its text format, or OpenMetrics).
    encode, content_type = choose_encoder(request.META.get("HTTP_ACCEPT", ""))
    return HttpResponse(encode(scrape_registry()), content_type=content_type)
