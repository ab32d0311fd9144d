"""`ServiceState`: what the service loads once at start and shares between requests."""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request

from policyengine.errors import PolicyEngineError
from policyengine.service.config import ServiceConfig
from policyengine.service.tokens import TokenEntry, read_tokens

if TYPE_CHECKING:
    from policyengine.engines.base import Backend
    from policyengine.store.db import Store


class ServiceState:
    """The packages (loaded and lowered once), the token file (re-read when it changes, so `policyengine token
    add` takes effect without a restart), the decision store and the work folder."""

    def __init__(self, config: ServiceConfig) -> None:
        from policyengine.engines.base import default_backend, get_backend
        from policyengine.ir.lower import program
        from policyengine.store.db import open as open_store

        self.config = config
        self.packages = list(config.packages)
        ids = [p.id for p in self.packages]
        if len(set(ids)) != len(ids):
            raise PolicyEngineError(f"--package: a package is given twice: {ids}")
        backend = get_backend(config.backend)   # an unknown or unavailable backend stops the start
        self.backend: Backend = default_backend() if config.backend == "rete" else backend
        """What `POST /v1/evaluate` decides with: for rete, the Rete backend, leaving to the reference interpreter
        only what the engine cannot hold exactly (money from 10^14 yuan), as the decision's audit says."""
        for p in self.packages:
            for v in p.versions:
                program(v)   # lowered (and cached) now, not on the first request
                prepare = getattr(backend, "prepare", None)
                if prepare is not None:
                    prepare(v)   # the Rete backend's ruleset, compiled and created in the engine now
        self._tokens_lock = threading.Lock()
        self._tokens_stamp: tuple[int, int] | None = None
        self._tokens: list[TokenEntry] = []
        self._by_hash: dict[str, TokenEntry] = {}
        self.tokens   # noqa: B018 - read now: a bad token file stops the start, not the first request
        self._own_dir: Path | None = None
        if config.work_dir is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="policyengine-service-"))
        self.work_dir = config.work_dir if config.work_dir is not None else self._own_dir
        assert self.work_dir is not None
        self.store_url = config.store if config.store is not None else str(self.work_dir / "decisions.db")
        self.store_is_temporary = config.store is None and self._own_dir is not None
        """Whether the store goes when the service stops (no --store and no --work-dir)."""
        try:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            self.store: Store = open_store(self.store_url)
        except BaseException:   # a store that cannot be opened stops the start: leave no temporary folder
            if self._own_dir is not None:
                shutil.rmtree(self._own_dir, ignore_errors=True)
            raise
        self.extensions: dict[str, Any] = {}
        """Per-feature state (the job manager keeps itself here)."""

    @property
    def tokens(self) -> list[TokenEntry]:
        """The token file's entries (re-read when its modification time or size changes)."""
        return self._read_tokens()[0]

    @property
    def tokens_by_hash(self) -> dict[str, TokenEntry]:
        """The token file's entries by the SHA-256 of their token (`auth.authenticate` looks tokens up here)."""
        return self._read_tokens()[1]

    def _read_tokens(self) -> tuple[list[TokenEntry], dict[str, TokenEntry]]:
        from policyengine.service.auth import by_hash

        path = self.config.tokens
        try:
            st = path.stat()
            stamp = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        with self._tokens_lock:
            if stamp is None or stamp != self._tokens_stamp:
                self._tokens = read_tokens(path)
                self._by_hash = by_hash(self._tokens)
                self._tokens_stamp = stamp
            return self._tokens, self._by_hash

    def package(self, package_id: str) -> Any:
        for p in self.packages:
            if p.id == package_id:
                return p
        return None

    def close(self) -> None:
        for ext in self.extensions.values():   # e.g. the job manager: its worker finishes before the store closes
            closer = getattr(ext, "close", None)
            if callable(closer):
                closer()
        self.store.close()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)


def state_of(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state
