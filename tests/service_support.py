"""What the service's tests share: a token file with one token per role, the real `policyengine serve` process,
and a runner for the console examples of docs/service.md (curl commands sent with httpx, as curl sends them)."""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from policyengine.service.tokens import add_token

from .console_docs import Shown, mismatch
from .support import ROOT

ROLES = ("clerk", "drafter", "auditor")
USERS = {"clerk": "张三", "drafter": "王五", "auditor": "李四"}
START_TIMEOUT = 60.0
"""Seconds a server may take to start (imports, packages loaded and lowered) on a loaded two-core machine."""


def token_file(folder: Path) -> tuple[Path, dict[str, str]]:
    """A token file in `folder` with one token per role; the tokens by role."""
    path = folder / "tokens.yaml"
    return path, {role: add_token(path, USERS[role], role) for role in ROLES}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a `policyengine` subprocess: this checkout's src first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class Server:
    """A running `policyengine serve` process; its output is drained by threads (a full pipe would stall it)."""

    process: subprocess.Popen[str]
    url: str = ""
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    threads: list[threading.Thread] = field(default_factory=list)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send `sig` and wait for the process to end; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            status = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        for t in self.threads:
            t.join(timeout=5)
        return status


def _drain(stream: Any, into: list[str], lines: queue.Queue[str | None] | None) -> None:
    for line in stream:
        into.append(line.rstrip("\n"))
        if lines is not None:
            lines.put(line.rstrip("\n"))
    if lines is not None:
        lines.put(None)


def start_server(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Server:
    """`policyengine serve ARGS --port 0` in `cwd`, once it answers `/healthz`; its startup lines are in
    `stdout` (the URL line first)."""
    process = subprocess.Popen([sys.executable, "-m", "policyengine", "serve", *args, "--port", "0"], cwd=cwd,
                               env=environment(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, encoding="utf-8")
    server = Server(process)
    server.threads = [threading.Thread(target=_drain, args=(process.stdout, server.stdout, server.lines), daemon=True),
                      threading.Thread(target=_drain, args=(process.stderr, server.stderr, None), daemon=True)]
    for t in server.threads:
        t.start()
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while not server.url:
            try:
                line = server.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the server printed no URL in {START_TIMEOUT} s: {server.stderr}") from None
            if line is None:
                raise AssertionError(f"the server ended (status {process.wait()}): {server.stderr}")
            m = re.match(r"policyengine service on (http://\S+) ", line)
            if m:
                server.url = m.group(1)
        while True:
            try:
                if httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server does not answer /healthz: {server.stderr}")
            time.sleep(0.05)
        while len(server.stdout) < 3 and time.monotonic() < deadline:  # the store and packages lines
            time.sleep(0.01)
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    return server


# -- the console examples of docs/service.md -------------------------------------------------------------------

DOC_URL = "http://127.0.0.1:8000"
_VAR = re.compile(r"\$\{?([A-Z_][A-Z0-9_]*)\}?")
_ASSIGN = re.compile(r"^([A-Z_][A-Z0-9_]*)=\$\((.*)\)$")


@dataclass
class DocSession:
    """The state of a page's examples run in order: the shell's variables, the server the page started."""

    cwd: Path
    variables: dict[str, str] = field(default_factory=dict)
    server: Server | None = None

    def expand(self, command: str) -> str:
        """`$NAME` and `${NAME}` replaced by the variables set so far (outside single quotes, as a shell does)."""
        parts = re.split(r"('[^']*')", command)
        return "".join(p if p.startswith("'") else _VAR.sub(lambda m: self.variables[m.group(1)], p) for p in parts)

    def run(self, shown: Shown) -> str | None:
        """Run one shown command; None when it prints what the page shows (and exits as it says), else why not."""
        command = shown.command
        if (m := _ASSIGN.match(command)) is not None:
            args = shlex.split(self.expand(m.group(2)))
            if args[0] == "curl" and self.server is not None:
                self.variables[m.group(1)] = curl(args[1:], self.server.url, self.cwd).strip()
                return mismatch(shown.output, [])
            if args[0] != "policyengine":
                return f"the runner only runs policyengine and curl in $(…): {command}"
            done = subprocess.run([sys.executable, "-m", "policyengine", *args[1:]], cwd=self.cwd, env=environment(),
                                  capture_output=True, text=True, encoding="utf-8", timeout=120, check=False)
            self.variables[m.group(1)] = done.stdout.strip()
            if done.returncode != shown.status:
                return f"exit status {done.returncode}: {done.stderr}"
            return mismatch(shown.output, done.stderr.rstrip("\n").split("\n") if done.stderr else [])
        args = shlex.split(self.expand(command))
        if args == ["mkdir", "-p", args[-1]] and len(args) == 3:
            (self.cwd / args[2]).mkdir(parents=True, exist_ok=True)
            return None
        if args[:2] == ["policyengine", "serve"]:
            if self.server is not None:
                return "the page starts a second server"
            self.server = start_server(args[2:], self.cwd)
            printed = [line.replace(self.server.url, DOC_URL) for line in self.server.stdout[:3]]
            return mismatch(shown.output, printed)
        if args[0] == "curl":
            if self.server is None:
                return "curl before the page starts the server"
            output = curl(args[1:], self.server.url, self.cwd)
            problem = mismatch(shown.output, output.rstrip("\n").split("\n") if output else [])
            return None if problem is None else f"{problem}\n--- printed:\n{output}"
        return f"the runner does not know this command: {command}"


JOB = re.compile(r"/v1/jobs/[0-9a-f]+$")
POLL_SECONDS = 60.0
"""How long the runner polls a job (`GET /v1/jobs/{id}`) that is still queued or running."""


def curl(args: list[str], base: str, cwd: Path) -> str:
    """What `curl ARGS` prints, for the options the page uses (-s, -X, -H, -d/--data, -F, -w with %{http_code},
    %{content_type} and %header{NAME}, -o), the request sent with httpx to the server at `base` instead of the
    page's http://127.0.0.1:8000. A job's state (`GET /v1/jobs/{id}`) is polled, as a reader would, until the
    job is neither queued nor running."""
    method: str | None = None
    headers: dict[str, str] = {}
    data: bytes | None = None
    form: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    write_out = ""
    out_file: str | None = None
    url = ""
    it = iter(args)
    for a in it:
        if a in ("-s", "-S", "-sS", "--silent", "--show-error"):
            continue
        if a in ("-X", "--request"):
            method = next(it)
        elif a in ("-H", "--header"):
            name, _, value = next(it).partition(":")
            headers[name.strip()] = value.strip()
        elif a in ("-d", "--data", "--data-binary"):
            value = next(it)
            data = (cwd / value[1:]).read_bytes() if value.startswith("@") else value.encode("utf-8")
        elif a in ("-F", "--form"):
            name, _, value = next(it).partition("=")
            if value.startswith("@"):
                path = cwd / value[1:]
                files[name] = (path.name, path.read_bytes())
            else:
                form[name] = value
        elif a in ("-w", "--write-out"):
            write_out = next(it)
        elif a in ("-o", "--output"):
            out_file = next(it)
        elif a.startswith("-"):
            raise AssertionError(f"the curl runner does not know {a}")
        else:
            url = a
    assert url.startswith(DOC_URL), url
    if data is not None and "Content-Type" not in headers:
        headers["Content-Type"] = "application/x-www-form-urlencoded"   # as curl sends -d
    chosen = method or ("POST" if data is not None or form or files else "GET")
    response = httpx.request(chosen, base + url[len(DOC_URL):], headers=headers, content=data,
                             data=form or None, files=files or None, timeout=120)
    deadline = time.monotonic() + POLL_SECONDS
    while chosen == "GET" and JOB.search(url) and response.status_code == 200 and \
            response.json()["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        response = httpx.request(chosen, base + url[len(DOC_URL):], headers=headers, timeout=120)
    if out_file is not None:
        (cwd / out_file).write_bytes(response.content)
        body = ""
    else:
        body = response.text
    extra = write_out.replace("\\n", "\n").replace("%{http_code}", str(response.status_code))
    extra = extra.replace("%{content_type}", response.headers.get("content-type", ""))
    extra = re.sub(r"%header\{([^}]+)\}", lambda m: response.headers.get(m.group(1), ""), extra)
    return body + extra
