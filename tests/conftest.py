from __future__ import annotations

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
