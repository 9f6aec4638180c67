"""Real local receivers for the alert tests: an HTTP webhook and an SMTP server, both on
127.0.0.1 at a free port, started and stopped by the tests."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Webhook:
    """An HTTP server that records every POST; it can fail the first attempts.

    Parameters
    ----------
    fail_first : int
        Answer HTTP `failure` to the first `fail_first` posts of each message (by the
        ``Idempotency-Key`` header, else the body's ``message_id``).
    failure : int
        The status of those answers (500 by default).
    headers : dict of str to str, optional
        Headers of those answers (``Retry-After``, ``Location``).
    hold : threading.Event, optional
        Answer no post before it is set (a receiver that is slow to answer).
    """

    def __init__(self, fail_first: int = 0, failure: int = 500,
                 headers: dict[str, str] | None = None,
                 hold: threading.Event | None = None) -> None:
        self.fail_first = fail_first
        self.failure, self.failure_headers, self.hold = failure, headers or {}, hold
        self.waiting = threading.Event()  # set once a post waits on `hold`
        self.posts: list[dict[str, Any]] = []  # every request: path, key, status, body
        self.lock = threading.Lock()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                size = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(size) or b"null")
                key = self.headers.get("Idempotency-Key") or (body or {}).get("message_id")
                if hook.hold is not None:
                    hook.waiting.set()
                    hook.hold.wait(timeout=60)
                with hook.lock:
                    seen = sum(1 for p in hook.posts if p["key"] == key)
                    status = hook.failure if seen < hook.fail_first else 200
                    hook.posts.append({"path": self.path, "key": key, "status": status,
                                       "body": body, "headers": dict(self.headers)})
                self.send_response(status)
                for name, value in (hook.failure_headers if status != 200 else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # shutdown() waits for serve_forever's next poll: half a second per receiver at
        # the default interval.
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def received(self, path: str | None = None) -> list[dict[str, Any]]:
        """Bodies of the posts answered 200 (to `path` only, when given)."""
        with self.lock:
            return [p["body"] for p in self.posts
                    if p["status"] == 200 and (path is None or p["path"] == path)]

    def attempts(self) -> Counter:
        """Posts per key."""
        with self.lock:
            return Counter(p["key"] for p in self.posts)


class Mailbox:
    """An SMTP server (aiosmtpd) that keeps every message it gets.

    Parameters
    ----------
    refuse : dict of str to str, optional
        Recipients it refuses, with its answer (``"550 no such user"``).
    """

    def __init__(self, refuse: dict[str, str] | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        box = self
        refused = self.refuse = dict(refuse or {})  # may change while it runs

        class Handler:
            async def handle_RCPT(self, server: object, session: object,  # noqa: N802
                                  envelope: Any, address: str, options: list) -> str:
                if address in refused:
                    return refused[address]
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: object, session: object,  # noqa: N802
                                  envelope: Any) -> str:
                box.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                     "data": envelope.content.decode("utf-8", "replace")})
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def address(self) -> str:
        """``HOST:PORT``."""
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> Mailbox:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
