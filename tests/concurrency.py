"""Racing real threads on PostgreSQL, for the "one winner" tests."""

import threading

from django.db import connection


def race(*calls, timeout: float = 60):
    """Run each call in its own thread and connection, released together by a barrier.
    Returns ``[("ok", result) | ("error", exception), ...]`` in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            outcomes[index] = ("ok", call())
        except Exception as exc:  # the caller asserts on it (a loser's refusal, or a bug)
            outcomes[index] = ("error", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
        assert not thread.is_alive(), "a racer is stuck (deadlock?)"
    return outcomes
