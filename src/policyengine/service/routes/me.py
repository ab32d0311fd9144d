"""`GET /v1/me`: who the token is (the page checks a token with it when a clerk signs in)."""

from __future__ import annotations

from fastapi import APIRouter

from policyengine.service.auth import RIGHTS, ROLES_ZH, Anyone
from policyengine.service.models import ERRORS, Me

router = APIRouter(prefix="/v1", tags=["auth"], responses={k: v for k, v in ERRORS.items() if k == 401})


@router.get("/me", response_model=Me)
async def me(principal: Anyone) -> Me:
    """The token's user, role and what the role may do (any valid token; 401 otherwise)."""
    return Me(user=principal.user, role=principal.role, role_zh=ROLES_ZH.get(principal.role, principal.role),
              rights=sorted(RIGHTS.get(principal.role, ())))
