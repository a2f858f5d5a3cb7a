"""Server logs never carry secrets (DESIGN rule 6): a filter on the console handler.

``RedactingFilter`` rewrites each record's final message (arguments merged) and its formatted
traceback with ``releasemgr.redaction.redact`` before any handler writes it, so a token in a
request path (``?token=…``), a pipeline URL with a password or a key in an exception message
reaches the log as ``[REDACTED]``.
"""

from __future__ import annotations

import logging

from releasemgr.redaction import redact

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
