"""Keep voting codes out of logs.

A voting code travels in the QR link path (``/vote/c/<code>``), so any access log would
write it next to an IP address. The filter below rewrites such paths in every log record
handled by the web server loggers; ``gunicorn.conf.py`` uses the same function for
gunicorn's access log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

CODE_PATH = re.compile(r"/vote/c/[^\s\"'?]+")
REDACTED = "/vote/c/[redacted]"


def redact(text: str) -> str:
    return CODE_PATH.sub(REDACTED, text)


class RedactCodes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, Mapping):
            # gunicorn's access log passes a dict that answers missing keys with "-": keep
            # its type and change the values in place.
            for key, value in list(args.items()):
                if isinstance(value, str):
                    args[key] = redact(value)  # type: ignore[index]
        elif args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in args)
        record.msg = redact(str(record.msg))
        return True


def install_log_redaction() -> None:
    """Attach the filter to the loggers that write request lines."""
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCodes) for f in logger.filters):
            logger.addFilter(RedactCodes())
