"""`create_app(config)`: the service's ASGI app (FastAPI): `/v1` API, `/healthz`, the page at `/`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from policyengine import __version__
from policyengine.errors import PolicyEngineError
from policyengine.service.config import ServiceConfig
from policyengine.service.errors import ServiceError, error_body, error_response
from policyengine.service.limits import BodyLimit
from policyengine.service.state import ServiceState

log = logging.getLogger("policyengine.service")


def create_app(config: ServiceConfig) -> FastAPI:
    """The service for `config`: packages loaded and lowered, token file read and store opened now (errors
    here stop the start with one line)."""
    from policyengine.service.routes import decisions, evaluate, health, jobs, me, packages, web

    state = ServiceState(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.close()

    from fastapi_offline import FastAPIOffline

    # /docs is Swagger UI with its script and style sheet served from the package (fastapi-offline ships
    # them), not from a CDN
    app = FastAPIOffline(title="policyengine", version=__version__, openapi_url="/v1/openapi.json",
                         docs_url="/docs", redoc_url=None, static_url="/docs/assets", lifespan=lifespan,
                         description="Subsidy-policy decisions (皇钻十六条, 沈阳市高新技术企业补助): evaluate "
                                     "enterprises' facts, score spreadsheets, read and verify recorded decisions. "
                                     "Every /v1 route needs `Authorization: Bearer <token>`.")
    app.state.service = state
    for module in (health, me, packages, evaluate, decisions, jobs, web):
        app.include_router(module.router)
    _handlers(app)
    app.add_middleware(BodyLimit, limits={"/v1/evaluate": config.evaluate_body_limit,
                                          "/v1/evaluate/batch": config.batch_body_limit})
    return app


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
                    for e in exc.errors()]
        return JSONResponse(error_body("bad_request", "the request does not have the expected shape",
                                       "请求格式不正确", problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        zh = {404: "未找到", 405: "不支持该请求方法", 413: "上传内容过大"}.get(exc.status_code, "请求失败")
        return JSONResponse(error_body(f"http_{exc.status_code}", str(exc.detail), zh), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(PolicyEngineError)
    async def library_error(_request: Request, exc: PolicyEngineError) -> JSONResponse:
        return JSONResponse(error_body("bad_input", str(exc), str(exc)), status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return JSONResponse(error_body("internal", f"internal error ({type(exc).__name__})", "服务内部错误"),
                            status_code=500)
