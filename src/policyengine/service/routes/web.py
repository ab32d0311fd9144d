"""Routes: the page for bureau staff (`GET /`) and its assets (`GET /static/{name}`), served from the package
(`policyengine/service/web/`: index.html, app.js, app.css; no CDN, no build step).

The page holds no data of its own: it signs in with a token (kept in the tab's sessionStorage) and calls the
`/v1` API. It is served with a Content-Security-Policy that allows only the service's own scripts and styles.
"""

from __future__ import annotations

import mimetypes
import re
from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from policyengine.service.errors import ServiceError

router = APIRouter(include_in_schema=False)

ASSETS = "policyengine.service"
"""The package whose `web/` folder holds the page."""
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\.(?:js|css|svg|png|ico)")
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def asset(name: str) -> bytes | None:
    """The bytes of `web/<name>` in the installed package, or None."""
    item = files(ASSETS).joinpath("web").joinpath(name)
    return item.read_bytes() if item.is_file() else None


@router.get("/", response_class=HTMLResponse)
def page() -> HTMLResponse:
    body = asset("index.html")
    if body is None:   # a broken install, not a caller's error
        raise ServiceError(500, "no_page", "the page is missing from the installed package", "页面文件缺失")
    return HTMLResponse(body, headers=HEADERS)


@router.get("/static/{name}")
def static(name: str) -> Response:
    body = asset(name) if _NAME.fullmatch(name) else None
    if body is None:
        raise ServiceError(404, "not_found", f"no asset {name!r}", "未找到该文件")
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media.startswith("text/") or media.endswith("javascript"):
        media += "; charset=utf-8"
    return Response(body, media_type=media, headers=HEADERS)
