"""The renewed cookies of a browser session that a request used (`deps.session_caller`
decides when, `routes/auth.set_session_cookies` writes them): an ASGI middleware, so
every answer carries them (pages, JSON, downloads, event streams) and the open pages
keep their XSRF token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jobmanager.api.deps import SESSION_RENEWAL, XSRF_COOKIE
from jobmanager.api.routes.auth import set_session_cookies


class SessionRenewal:
    def __init__(self, app: ASGIApp, idle_seconds: int) -> None:
        self.app = app
        self.idle_seconds = idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_renewed(message: Message) -> None:
            if message["type"] == "http.response.start" and SESSION_RENEWAL in scope:
                message["headers"] = [*message.get("headers", []), *self._cookies(scope)]
            await send(message)

        await self.app(scope, receive, send_renewed)

    def _cookies(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        request = Request(scope)
        cookies = Response()
        xsrf = request.cookies.get(XSRF_COOKIE)
        set_session_cookies(cookies, request, scope[SESSION_RENEWAL], self.idle_seconds, xsrf)
        return [(name, value) for name, value in cookies.raw_headers if name == b"set-cookie"]
