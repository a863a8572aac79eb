"""Sending text messages: a pluggable sender chosen by configuration.

``SMS_SENDER`` names it:

* ``"outbox"`` — one JSON line per message appended to ``SMS_OUTBOX_PATH`` (default
  ``<instance>/sms-outbox.jsonl``): the development "phone". The default in debug and testing.
* ``"memory"`` — a list in the process, for tests.
* ``"package.module:ClassName"`` — a real gateway, instantiated with the app config; it
  must have ``send(phone, text)`` and raise ``SmsError`` (or ``OSError``) when it fails.

Outside debug and testing the first two are refused at start-up: codes written to a file
on the server would let anyone with access to it vote as someone else. When nothing is
configured there, the phone channel is off and its pages say so.

The code is never logged: a log line names the phone as ``****1234`` and nothing else.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from flask import Flask

from ..domain.otp import masked_phone

log = logging.getLogger(__name__)

DEVELOPMENT_SENDERS = ("outbox", "memory")
_EXTENSION_KEY = "sms_sender"


class SmsError(Exception):
    """A gateway could not take the message."""


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class OutboxSender:
    """Appends ``{"at", "to", "text"}`` as one JSON line per message to a file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        line = json.dumps(
            {"at": datetime.now(UTC).isoformat(), "to": phone, "text": text}, ensure_ascii=False
        )
        with self._lock, self.path.open("a", encoding="utf-8") as outbox:
            outbox.write(line + "\n")


class MemorySender:
    """Keeps ``(phone, text)`` pairs in a list."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.messages.append((phone, text))


class DeferredSender:
    """Queues messages and hands them to ``inner`` later (after the response is sent).

    The page a resident sees then takes the same time whether or not a message went out,
    however slow the gateway.
    """

    def __init__(self, inner: SmsSender) -> None:
        self.inner = inner
        self.queued: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.queued.append((phone, text))

    def flush(self) -> None:
        """Deliver everything queued through the real sender."""
        queued, self.queued = self.queued, []
        for phone, text in queued:
            deliver(self.inner, phone, text)


def deliver(sender: SmsSender, phone: str, text: str) -> bool:
    """Send one message; log the outcome with a masked phone; never raise for a gateway."""
    if isinstance(sender, DeferredSender):
        sender.send(phone, text)  # queued: delivered, and logged, on flush
        return True
    try:
        sender.send(phone, text)
    except (SmsError, OSError) as exc:
        log.warning("sms to %s failed: %s", masked_phone(phone), type(exc).__name__)
        return False
    log.info("sms sent to %s", masked_phone(phone))
    return True


def _sender_spec(app: Flask) -> str | None:
    """The configured sender, with "outbox" filled in for debug and testing."""
    spec = app.config.get("SMS_SENDER")
    if not spec and (app.debug or app.testing):
        return "outbox"
    return spec or None


def channel_enabled(app: Flask) -> bool:
    """True if the phone channel has a sender to use."""
    return _sender_spec(app) is not None


def check_production(app: Flask) -> None:
    """Outside debug and testing, refuse the development senders at start-up."""
    if app.debug or app.testing:
        return
    spec = app.config.get("SMS_SENDER")
    if spec in DEVELOPMENT_SENDERS:
        raise RuntimeError(
            f"Refusing to start: SMS_SENDER={spec!r} writes phone codes where they can be"
            " read on the server. Outside development set SMS_SENDER to a gateway class"
            " ('package.module:ClassName'), or leave it empty to switch the phone channel off."
        )
    if not spec:
        log.warning("SMS_SENDER is not set: the phone-code channel is off")


def get_sender(app: Flask) -> SmsSender:
    """The app's sender, built once from ``SMS_SENDER``."""
    sender: SmsSender | None = app.extensions.get(_EXTENSION_KEY)
    if sender is None:
        sender = app.extensions[_EXTENSION_KEY] = build_sender(_sender_spec(app), app)
    return sender


def build_sender(spec: str | None, app: Flask) -> SmsSender:
    """Make the sender ``spec`` names (RuntimeError if it names none)."""
    if spec == "outbox":
        path = app.config.get("SMS_OUTBOX_PATH") or Path(app.instance_path) / "sms-outbox.jsonl"
        return OutboxSender(path)
    if spec == "memory":
        return MemorySender()
    if spec and ":" in spec:
        return _gateway(spec, app.config)
    raise RuntimeError(f"SMS_SENDER must be 'outbox', 'memory' or 'module:Class', not {spec!r}")


def _gateway(spec: str, config: Mapping[str, Any]) -> SmsSender:
    module_name, _, class_name = spec.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(config)  # type: ignore[no-any-return]
