"""The headers that keep the service's pages from being framed, sniffed or leaking where a
visitor came from, on every answer (the console's pages, fragments, files and errors, and
the API's answers alike).

- `Content-Security-Policy: frame-ancestors 'none'` (and `X-Frame-Options: DENY` for
  browsers that predate it): no other site can show a console page in a frame and trick
  a signed-in user into clicking in it. The policy also forbids plugins (`object-src`)
  and a `<base>` that would re-aim the pages' relative links. It says nothing about
  scripts and styles: the frames that show a job's rendered outputs (`srcdoc`, sandboxed,
  `console/render/markup.py`) inherit the page's policy and carry their own, stricter one.
- `X-Content-Type-Options: nosniff`: a file is what its `Content-Type` says, never HTML a
  browser guessed from a tenant's bytes.
- `Referrer-Policy: same-origin`: a link out of the console does not tell the other site
  which job or folder the user was looking at.

A header a route set itself is kept.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'; object-src 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SecurityHeaders:
    """A pure ASGI middleware: adds `SECURITY_HEADERS` to every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, sending)
