"""Request-body limits of the JSON routes (`POST /v1/evaluate`, `POST /v1/evaluate/batch`): an ASGI middleware
that refuses a body over its route's limit with 413 `too_large` before the app reads any of it (a declared
`Content-Length` over the limit) or as soon as the bytes received pass it (a chunked body), never holding more
than the limit in memory. (The spreadsheet upload, `POST /v1/jobs`, enforces its own limit while it streams.)
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policyengine.service.errors import error_response, too_large

WHAT = {"/v1/evaluate": ("the request body of POST /v1/evaluate", "单户测算的请求内容"),
        "/v1/evaluate/batch": ("the request body of POST /v1/evaluate/batch", "批量测算的请求内容")}
"""How a 413 names each limited route's body, in English and Chinese."""


class BodyLimit:
    """Refuse a POST body over `limits[path]` bytes with 413 `too_large`; other requests pass untouched."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int]) -> None:
        self.app = app
        self.limits = dict(limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limits.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(scope, receive, send, limit)
                return
        # the body read now, up to the limit, then handed on as it came (no copy)
        messages: list[Message] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":   # the client went away
                return
            seen += len(message.get("body", b""))
            if seen > limit:
                await self._refuse(scope, receive, send, limit)
                return
            messages.append(message)
            if not message.get("more_body", False):
                break
        messages.reverse()

        async def replay() -> Message:
            return messages.pop() if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        what, what_zh = WHAT.get(scope["path"], ("the request body", "请求内容"))
        response = error_response(too_large(what, what_zh, limit))
        response.headers["Connection"] = "close"   # the rest of the body is not read
        await response(scope, receive, send)
