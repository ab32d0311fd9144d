"""Bearer tokens and roles: who is calling, and may they do this?

Every `/v1` route depends on `require(ACTION)`. The token is hashed (SHA-256) and its hash looked up among the
token file's hashes, which the service keeps by hash while the file is unchanged; the entry found is confirmed in
constant time (`hmac.compare_digest`). The token itself is never logged or stored. A missing or wrong token is
401, a role without the right 403.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from policyengine.errors import PolicyEngineError
from policyengine.service.errors import ServiceError
from policyengine.service.tokens import TokenEntry, hash_token

log = logging.getLogger("policyengine.service")

RIGHTS: dict[str, frozenset[str]] = {
    "clerk": frozenset({"read", "evaluate", "jobs"}),
    "drafter": frozenset({"read", "evaluate", "jobs", "draft"}),
    "auditor": frozenset({"read", "verify"}),
}
"""What each role may do. read: packages, decisions, runs, explanations; evaluate: /v1/evaluate*; jobs:
spreadsheet jobs; verify: /v1/runs/{id}/verify; draft: the drafter's routes."""
ACTIONS_ZH = {"read": "查看", "evaluate": "测算", "jobs": "上传批量测算", "verify": "核验", "draft": "政策起草"}
ROLES_ZH = {"clerk": "经办人员", "drafter": "政策起草人员", "auditor": "审计人员"}


@dataclass(frozen=True)
class Principal:
    """The caller, as the token file names them."""

    user: str
    role: str


def by_hash(entries: Sequence[TokenEntry]) -> dict[str, TokenEntry]:
    """The token file's entries by the SHA-256 of their token (a hash given twice: its last entry)."""
    return {e.token_sha256: e for e in entries}


def authenticate(header: str | None, entries: Mapping[str, TokenEntry]) -> Principal:
    """The principal whose token the `Authorization` header carries (`entries`: the token file's, by the SHA-256
    of their token, as `by_hash` keeps them); raises a 401 `ServiceError` otherwise."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if not header:
        raise ServiceError(401, "unauthenticated", "an Authorization: Bearer <token> header is required",
                           "需要登录：请提供令牌（Authorization: Bearer <令牌>）", headers=challenge)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ServiceError(401, "unauthenticated", "the Authorization header must be 'Bearer <token>'",
                           "令牌格式不正确：应为 Authorization: Bearer <令牌>", headers=challenge)
    digest = hash_token(token)
    entry = entries.get(digest)   # looked up by the token's hash: the time taken tells nothing of the token
    if entry is None or not hmac.compare_digest(digest.encode("ascii"), entry.token_sha256.encode("ascii")):
        raise ServiceError(401, "bad_token", "the token is not valid", "令牌无效", headers=challenge)
    return Principal(entry.user, entry.role)


def authorise(principal: Principal, action: str) -> None:
    """Raise a 403 `ServiceError` unless `principal`'s role may do `action`."""
    if action not in RIGHTS.get(principal.role, frozenset()):
        raise ServiceError(403, "forbidden", f"role {principal.role} may not {action}",
                           f"{ROLES_ZH.get(principal.role, principal.role)}无权{ACTIONS_ZH.get(action, action)}")


def require(action: str | None) -> Callable[[Request], Awaitable[Principal]]:
    """A FastAPI dependency: the authenticated caller, allowed to do `action` (None: any valid token). It runs
    on the event loop (a stat of the token file, a hash and a look-up: no thread needed)."""

    async def dependency(request: Request) -> Principal:
        from policyengine.service.state import state_of

        try:
            entries = state_of(request).tokens_by_hash
        except PolicyEngineError as exc:   # the file was broken or removed while the service runs
            log.error("token file: %s", exc)
            raise ServiceError(503, "token_file", "the service's token file cannot be read: ask its administrator",
                               "服务的令牌文件无法读取，请联系管理员") from None
        principal = authenticate(request.headers.get("authorization"), entries)
        if action is not None:
            authorise(principal, action)
        return principal

    dependency.__name__ = f"require_{action or 'token'}"
    return dependency


Anyone = Annotated[Principal, Depends(require(None))]
"""A route parameter: the caller, whatever their role."""
Reader = Annotated[Principal, Depends(require("read"))]
"""A route parameter: the caller, allowed to read (packages, decisions, runs)."""
Evaluator = Annotated[Principal, Depends(require("evaluate"))]
"""A route parameter: the caller, allowed to evaluate."""
Verifier = Annotated[Principal, Depends(require("verify"))]
"""A route parameter: the caller, allowed to verify runs."""
JobRunner = Annotated[Principal, Depends(require("jobs"))]
"""A route parameter: the caller, allowed to upload spreadsheet jobs."""
