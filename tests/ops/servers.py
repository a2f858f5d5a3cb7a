"""The app under gunicorn in a process of its own, for tests that need a real server with a
different environment (an unreachable database, several workers)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def get(url: str) -> tuple[int, dict]:
    status, body = fetch(url)
    return status, json.loads(body)


def _start(port: int, workers: int, out, env) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "releasemgr.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "30",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=out,  # a file, not a pipe nobody reads (a full pipe would block the server)
        stderr=subprocess.STDOUT,
    )


@contextlib.contextmanager
def gunicorn(tmp_path, workers: int = 1, **env):
    """The app under gunicorn in its own process, with ``env`` on top of ours."""
    port = closed_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        process = _start(
            port, workers, out, dict(os.environ, RELEASEMGR_VAR_DIR=str(tmp_path), **env)
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                # A long timeout: a poll abandoned while a worker boots would be counted later.
                urllib.request.urlopen(f"{base}/healthz", timeout=30).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
