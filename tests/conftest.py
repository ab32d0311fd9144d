from __future__ import annotations

from pathlib import Path

import pytest

from policyengine import Package, load_package

from .support import FIXTURES, ROOT


@pytest.fixture(scope="session")
def mini() -> Package:
    return load_package(FIXTURES / "mini")


@pytest.fixture(scope="session")
def huangzuan16() -> Package:
    return load_package(ROOT / "rules" / "huangzuan16")


@pytest.fixture(scope="session")
def municipal() -> Package:
    return load_package(ROOT / "rules" / "municipal")


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty decision store, once on SQLite and once on a database of the session's PostgreSQL server
    (`store_support.postgres_server`, which the requesting module imports)."""
    if request.param == "sqlite":
        return str(tmp_path / "audit.db")
    from .store_support import new_postgres_db

    return new_postgres_db(request.getfixturevalue("postgres_server"))
