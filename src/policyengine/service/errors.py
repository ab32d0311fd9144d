"""The service's error body, one shape for every status:

```json
{"error": {"code": "bad_facts", "message": "…", "message_zh": "…", "problems": [{"fact": …, "label": …,
 "value": …, "message": …}]}}
```
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class ServiceError(Exception):
    """An error a route reports to its caller: an HTTP status, a stable code and a message in both languages."""

    def __init__(self, status: int, code: str, message: str, message_zh: str,
                 problems: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.message_zh = message_zh
        self.problems = problems
        self.headers = headers


def error_body(code: str, message: str, message_zh: str, problems: list[dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "message_zh": message_zh}
    if problems is not None:
        body["problems"] = problems
    return {"error": body}


def error_response(exc: ServiceError) -> JSONResponse:
    return JSONResponse(error_body(exc.code, exc.message, exc.message_zh, exc.problems), status_code=exc.status,
                        headers=exc.headers)


def size_text(n: int) -> str:
    """A byte count as people read it: `8 KB`, `50 MB`."""
    return f"{n / (1 << 20):.0f} MB" if n >= 1 << 20 else f"{n / 1024:.0f} KB"


def too_large(what: str, what_zh: str, limit: int) -> ServiceError:
    """The 413 of a body over its limit (`what`: the upload, the request body …)."""
    return ServiceError(413, "too_large", f"{what} is larger than the limit of {limit:,} bytes",
                        f"{what_zh}过大：上限为 {size_text(limit)}")
