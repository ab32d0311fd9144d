"""`policyengine serve` (the HTTP decision API and the page, on uvicorn) and `policyengine token add` (a bearer
token for it). See docs/service.md."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

import click

from policyengine.errors import PolicyEngineError
from policyengine.interrupts import Terminated

TOKENS_ENV = "POLICYENGINE_TOKENS"

EVENT_LOOP = "asyncio"
"""uvicorn's event loop. Not uvloop (uvicorn's choice when it is installed): under 32 keep-alive connections of
`POST /v1/evaluate` (~20 kB answers) uvloop left about 1% of the requests waiting 150-300 ms (p99 ~250 ms at the
same throughput; the standard loop: p99 ~50 ms). See benchmarks/bench_service.py and docs/service.md."""


def _tokens_path(tokens: Path | None) -> Path:
    if tokens is None:
        raise PolicyEngineError(f"--tokens FILE (or {TOKENS_ENV}=FILE) is needed: the token file of who may call "
                                "the service (create one with `policyengine token add --tokens FILE --user NAME "
                                "--role clerk`)")
    return tokens


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` (uvicorn listens on it); a one-line error when it cannot be."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise PolicyEngineError(f"--host {host}: cannot resolve: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise PolicyEngineError(f"--host {host} --port {port}: cannot listen: {exc.strerror or exc}") from None
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port; the one chosen is printed).")
@click.option("--store", "store", default=None, metavar="URL",
              help="Record decisions in this decision store: a file (SQLite) or postgresql://… (default: a "
                   "SQLite store in the work folder, deleted when the service stops).")
@click.option("--package", "--packages", "packages", multiple=True, metavar="DIR[@VERSION]",
              help="Rule package folder or bundled name (repeatable); default: every bundled package.")
@click.option("--tokens", "tokens", envvar=TOKENS_ENV, default=None, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help=f"The token file (user, role, SHA-256 of the token); default: ${TOKENS_ENV}.")
@click.option("--backend", type=click.Choice(["interpreter", "rete"]), default="interpreter", show_default=True,
              help="Evaluator of POST /v1/evaluate (rete: durable_rules, serialised by one lock).")
@click.option("--max-upload", "max_upload", default=50, show_default=True, type=click.IntRange(min=1),
              metavar="MB", help="The largest spreadsheet POST /v1/jobs accepts, in MB.")
@click.option("--work-dir", "work_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for uploads and job results (default: a temporary folder, deleted at the end).")
@click.option("--no-record", "no_record", is_flag=True,
              help="Do not record each POST /v1/evaluate decision in the store (its decision_id is null).")
def serve_command(host: str, port: int, store: str | None, packages: tuple[str, ...], tokens: Path | None,
                  backend: str, max_upload: int, work_dir: Path | None, no_record: bool) -> None:
    """Run the HTTP decision API (/v1, OpenAPI at /v1/openapi.json, docs at /docs) and the page for bureau staff
    (/), until Ctrl-C or SIGTERM."""
    import uvicorn

    from policyengine.cli.common import load_packages
    from policyengine.service.app import create_app
    from policyengine.service.config import ServiceConfig

    path = _tokens_path(tokens)
    sock = _listen(host, port)   # before loading: a busy port is one line, at once
    try:
        config = ServiceConfig(packages=load_packages(packages), tokens=path, store=store, backend=backend,
                               upload_limit=max_upload * 1024 * 1024, work_dir=work_dir, record=not no_record)
        app = create_app(config)
        state = app.state.service
        try:
            url = _url(sock)
            shown = state.store.shown + (" (temporary: deleted when the service stops)"
                                         if state.store_is_temporary else "")
            click.echo(f"policyengine service on {url} (API docs: {url}/docs)")
            click.echo(f"store: {shown}")
            click.echo("packages: " + ", ".join(f"{p.id} ({', '.join(v.version for v in p.versions)})"
                                                for p in state.packages)
                       + f"; backend: {backend}; tokens: {config.tokens}")
            click.echo("stop with Ctrl-C", err=True)
            server = uvicorn.Server(uvicorn.Config(app, log_level="info", access_log=True,
                                                   timeout_graceful_shutdown=10, loop=EVENT_LOOP))
            # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again: a clean stop
            with contextlib.suppress(KeyboardInterrupt, Terminated):
                server.run(sockets=[sock])
        finally:
            state.close()
    finally:
        sock.close()
    click.echo("policyengine service stopped", err=True)


@click.group("token")
def token_group() -> None:
    """Bearer tokens for `policyengine serve`."""


@token_group.command("add")
@click.option("--tokens", "tokens", envvar=TOKENS_ENV, default=None, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help=f"The token file (created if absent); default: ${TOKENS_ENV}.")
@click.option("--user", required=True, help="Who the token is for (recorded with every run they make).")
@click.option("--role", required=True, type=click.Choice(["clerk", "drafter", "auditor"]),
              help="clerk: evaluate, jobs, read; drafter: also the drafting routes; auditor: read and verify.")
def token_add_command(tokens: Path | None, user: str, role: str) -> None:
    """Generate a random token for USER with ROLE, add its SHA-256 to the token file and print the token, once
    (the file never holds it)."""
    from policyengine.service.tokens import add_token

    path = _tokens_path(tokens)
    if not path.parent.is_dir():
        raise PolicyEngineError(f"--tokens {path}: the folder {path.parent} does not exist")
    token = add_token(path, user, role)
    click.echo(token)
    click.echo(f"token for {user} ({role}) added to {os.fspath(path)}; it is shown only this once", err=True)
