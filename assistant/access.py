"""Who may use the web chat. With a login configured (Gradio's login: a form posting user name and password to
/login, which sets a session cookie; not HTTP Basic), every route answers 401 until the client has logged in,
except the login form itself; failed logins from one client address lock it out for a while."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from .guard import reject
from .webtext import asset

LOOPBACK = {"127.0.0.1", "::1"}
MAX_LOCKOUT = 3600.0
MAX_CLIENTS = 10_000  # failure records kept; the oldest are forgotten first


@dataclass(kw_only=True)
class _Record:
    """One client's run of failed logins and how often it was locked out."""

    failures: int = 0
    strikes: int = 0
    locked_until: float = 0.0
    seen: float = 0.0


class LoginThrottle:
    """After `max_failures` failed logins in a row a client address is locked out for `lockout` seconds, doubling
    with every further lockout (at most an hour); a successful login clears its record."""

    def __init__(self, *, max_failures: int, lockout: float, clock=time.monotonic) -> None:
        self.max_failures, self.lockout, self.clock = max(1, max_failures), lockout, clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def wait(self, client: str) -> float:
        """Seconds this client must wait before trying again (0 when it may try now)."""
        record = self._records.get(client)
        return max(0.0, record.locked_until - self.clock()) if record else 0.0

    def attempt(self, client: str) -> None:
        """Count a login attempt as failed until it succeeds (so parallel attempts cannot slip past the count)."""
        record = self._records.pop(client, None) or _Record()
        record.failures, record.seen = record.failures + 1, self.clock()
        if record.failures >= self.max_failures:
            record.locked_until = record.seen + min(MAX_LOCKOUT, self.lockout * 2 ** record.strikes)
            record.failures, record.strikes = 0, record.strikes + 1
        self._records[client] = record
        while len(self._records) > MAX_CLIENTS:
            self._records.popitem(last=False)

    def succeeded(self, client: str) -> None:
        """A correct login: the client starts afresh."""
        self._records.pop(client, None)


class AccessGate:
    """ASGI middleware in front of Gradio: with auth on, only the login form, the login itself and the server's
    own start-up call (once, from loopback) are served without a session cookie; everything else gets 401."""

    def __init__(self, app, *, max_failures: int, lockout: float) -> None:
        self.app = app
        self.throttle = LoginThrottle(max_failures=max_failures, lockout=lockout)

    async def __call__(self, scope, receive, send) -> None:
        """Serve logged-in clients; answer everyone else with the login form (the page) or 401."""
        gradio_app = scope.get("app")
        if scope["type"] not in ("http", "websocket") or getattr(gradio_app, "auth", None) is None:
            return await self.app(scope, receive, send)
        path, method, client = scope["path"].rstrip("/") or "/", scope.get("method", ""), _client(scope)
        if path == "/login" and method == "POST":
            return await self.login(scope, receive, send, client)
        if logged_in(scope, gradio_app) or _startup_call(path, client, gradio_app):
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        if path == "/" and method in ("GET", "HEAD"):
            return await _login_page(send)
        await reject(send, 401, "not logged in: this server needs a login (the form at its address)")

    async def login(self, scope, receive, send, client: str) -> None:
        """Gradio's /login, refused with 429 while the client is locked out; failures are counted."""
        wait = self.throttle.wait(client)
        if wait > 0:
            seconds = math.ceil(wait)
            return await reject(send, 429, f"too many failed logins from this address; try again in {seconds} s",
                                headers=[(b"retry-after", str(seconds).encode())])
        self.throttle.attempt(client)
        status: dict[str, int] = {}

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status.get("code") == 200:
            self.throttle.succeeded(client)


def logged_in(scope, gradio_app) -> bool:
    """Whether the request carries a session cookie Gradio issued at login."""
    from starlette.requests import cookie_parser

    header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"cookie"), "")
    cookies = cookie_parser(header)
    token = cookies.get(f"access-token-{gradio_app.cookie_id}") or \
        cookies.get(f"access-token-unsecure-{gradio_app.cookie_id}")
    return token is not None and token in gradio_app.tokens


def _startup_call(path: str, client: str, gradio_app) -> bool:
    """The server's own call that finishes `launch()`: once, from loopback, before anyone else could be served."""
    return path == "/gradio_api/startup-events" and client in LOOPBACK and not gradio_app.startup_events_triggered


def _client(scope) -> str:
    """The client's address as the server sees it (uvicorn takes it from X-Forwarded-For of a proxy on loopback)."""
    client = scope.get("client")
    return client[0] if client else "unknown"


async def _login_page(send) -> None:
    """The login form (self-contained: nothing else is served before login), with status 401."""
    body = asset("login.html").encode()
    await send({"type": "http.response.start", "status": 401,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})
