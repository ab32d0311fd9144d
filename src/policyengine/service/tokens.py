"""The token file: who may call the service, with which role. It holds SHA-256 hashes, never tokens.

```yaml
- user: 张三
  role: clerk
  token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
```
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from policyengine.errors import PolicyEngineError

ROLES = ("clerk", "drafter", "auditor")
"""clerk: evaluate, jobs, read decisions; drafter: a clerk's rights and the drafting routes; auditor: read and
verify only."""


class TokenFileError(PolicyEngineError):
    """The token file cannot be read or is malformed (names the file and the entry)."""


@dataclass(frozen=True)
class TokenEntry:
    user: str
    role: str
    token_sha256: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def read_tokens(path: Path) -> list[TokenEntry]:
    """Every entry of the token file; raises `TokenFileError` naming the file and entry of the first problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TokenFileError(f"{path}: no such token file (create one with `policyengine token add --tokens "
                             f"{path} --user NAME --role clerk`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TokenFileError(f"{path}: cannot read the token file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise TokenFileError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise TokenFileError(f"{path}: a list of entries (user, role, token_sha256) expected")
    out: list[TokenEntry] = []
    for n, item in enumerate(data, start=1):
        where = f"{path}: entry {n}"
        if not isinstance(item, dict):
            raise TokenFileError(f"{where}: a mapping with user, role and token_sha256 expected")
        unknown = set(item) - {"user", "role", "token_sha256"}
        if unknown:
            raise TokenFileError(f"{where}: unknown key {sorted(map(str, unknown))[0]!r} (keys: user, role, "
                                 "token_sha256; the file holds hashes, never tokens)")
        user, role, digest = item.get("user"), item.get("role"), item.get("token_sha256")
        if not isinstance(user, str) or not user.strip():
            raise TokenFileError(f"{where}: user: a name is needed")
        if role not in ROLES:
            raise TokenFileError(f"{where}: role {role!r}: choose one of {', '.join(ROLES)}")
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise TokenFileError(f"{where}: token_sha256: 64 lower-case hex digits expected (the SHA-256 of "
                                 "the token)")
        out.append(TokenEntry(user.strip(), role, digest))
    return out


def add_token(path: Path, user: str, role: str) -> str:
    """Generate a random token for `user` with `role`, append its hash to the token file (created if absent)
    and return the token: it is shown once and kept nowhere."""
    if role not in ROLES:
        raise TokenFileError(f"--role {role!r}: choose one of {', '.join(ROLES)}")
    if not user.strip():
        raise TokenFileError("--user: a name is needed")
    entries = read_tokens(path) if path.exists() else []
    token = secrets.token_urlsafe(32)
    entries.append(TokenEntry(user.strip(), role, hash_token(token)))
    text = yaml.safe_dump([{"user": e.user, "role": e.role, "token_sha256": e.token_sha256} for e in entries],
                          allow_unicode=True, sort_keys=False)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return token
