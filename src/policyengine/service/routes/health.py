"""`GET /healthz`: the service is up (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from policyengine import __version__
from policyengine.service.state import state_of

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(request: Request) -> dict[str, Any]:
    state = state_of(request)
    return {"status": "ok", "version": __version__,
            "packages": [{"id": p.id, "versions": [v.version for v in p.versions]} for p in state.packages]}
