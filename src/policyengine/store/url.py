"""Store URLs: a plain path means SQLite; `postgresql://` URLs use psycopg 3. Passwords are never shown."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from policyengine.errors import PolicyEngineError


def parse(url: str | Path) -> URL:
    text = str(url)
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).resolve()))
    try:
        parsed = make_url(text)
    except ArgumentError:
        raise PolicyEngineError(f"--store {redact(text)}: not a database URL (a file path, sqlite:///FILE or "
                                "postgresql://USER@HOST/DB)") from None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "sqlite":
        return parsed
    raise PolicyEngineError(f"--store {redact(text)}: only SQLite and PostgreSQL stores are supported")


def redact(url: str | URL) -> str:
    """The URL with any password replaced by ***."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return re.sub(r"(://[^/:@]*:)[^@/]*@", r"\1***@", url)
