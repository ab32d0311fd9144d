"""Load on the policy service: `POST /v1/evaluate` from concurrent clients, and one batch of 10,000 applicants.

    python benchmarks/bench_service.py [--seconds 10] [--clients 32] [--batch 10000] [--warmup 2]
                                       [--driver auto|wrk|python]

Each server is a process of its own (`python -m policyengine serve`, as an operator starts it, access log on),
on a free port of 127.0.0.1, with its output discarded. The load: the readable rows of
examples/applicants_2021.csv (both bundled packages, facts by their Chinese headers, JSON encoded beforehand)
posted in turn by `--clients` keep-alive connections for `--seconds` after `--warmup` seconds of the same load.
Every answer must be 200. Two drivers:

- `wrk` (the default when `wrk` is on PATH; Debian package `wrk`): the C load generator in a process of its own,
  `wrk -t1 -c{clients} -d{seconds}s --latency -s post.lua URL`, the Lua script (written to a temporary folder)
  cycling through the bodies with the token header. It takes a fraction of a core, so the figures are the
  server's; req/s, p50, p90 and p99 are read from its report;
- `python` (the fallback, with a printed note): `--clients` threads of this process, each with its own
  `httpx.Client`. On a 2-core machine these clients take about as much CPU as the server, so the figures show
  the clients as much as the server.

Servers, in this order:

- `service, no store`: `serve --no-record` (the decision is not written to the store; auth, request model,
  the library's JSON);
- `service, SQLite store`: `serve --store FILE` (every decision recorded as a run of one row);
- `comparator`: the yardstick, a minimal hand-written FastAPI app on the same uvicorn (and event loop) whose
  one endpoint calls `policyengine.evaluate` on the posted facts and returns `decision.model_dump_json()`: no
  token, no request model, no store. Its answers are checked to give the service's totals first.

For each: requests/s, p50, p90 and p99 latency, errors, the CPU the server process used (cores, from
/proc/PID/stat; one process, so at most one core's worth of Python at a time under the GIL), requests/s per
core the server used (what the server would do with a core of its own, on a machine others share) and the CPU
the clients used (wrk: its process); then the service's throughput and p99 as ratios of the comparator's.
Then one `POST /v1/evaluate/batch` of `--batch` synthetic applicants (distinct valid USCCs; the service's own
columnar route), timed end to end (JSON encoding of the request not included). The load average before and
after is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from policyengine.cli.serve import EVENT_LOOP
from policyengine.model.bundled import load_bundled
from policyengine.service.tokens import add_token

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_evaluate import example_rows, synthetic_rows  # a sibling script, importable once its folder is on the path

ROOT = Path(__file__).resolve().parent.parent

COMPARATOR = """\
import sys

import uvicorn
from fastapi import FastAPI, Request, Response

from policyengine import evaluate
from policyengine.model.bundled import load_bundled

PACKAGES = load_bundled()
app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/evaluate")
async def evaluate_one(request: Request) -> Response:
    body = await request.json()
    decision = evaluate(PACKAGES, body["facts"])
    return Response(decision.model_dump_json(), media_type="application/json")


uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="info", loop=sys.argv[2])
"""


@dataclass
class Load:
    name: str
    requests: int
    errors: int
    seconds: float
    p50: float
    p90: float
    p99: float
    mean: float
    server_cores: float
    client_cores: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def percentile(latencies: Sequence[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


@contextmanager
def server(command: list[str], url: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server stopped at start: {' '.join(command)}")
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not start within 120 s: {' '.join(command)}")
            time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def drive(name: str, url: str, path: str, bodies: Sequence[bytes], headers: dict[str, str], clients: int,
          seconds: float, warmup: float, pid: int) -> Load:
    """`clients` threads posting `bodies` in turn: `warmup` seconds unmeasured, then `seconds` measured."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    ready = threading.Barrier(clients + 1)
    measuring = threading.Event()
    stop = threading.Event()

    def worker(i: int) -> None:
        k = i
        with httpx.Client(base_url=url, headers={**headers, "Content-Type": "application/json"},
                          timeout=60) as client:
            ready.wait()
            while not stop.is_set():
                body = bodies[k % len(bodies)]
                k += 1
                start = time.perf_counter()
                answer = client.post(path, content=body)
                took = time.perf_counter() - start
                if measuring.is_set() and not stop.is_set():
                    latencies[i].append(took)
                    if answer.status_code != 200:
                        errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    time.sleep(warmup)
    server_cpu, client_cpu = cpu_seconds(pid), time.process_time()
    begun = time.perf_counter()
    measuring.set()
    time.sleep(seconds)
    stop.set()
    elapsed = time.perf_counter() - begun
    server_cpu, client_cpu = cpu_seconds(pid) - server_cpu, time.process_time() - client_cpu
    for t in threads:
        t.join()
    flat = [x for per in latencies for x in per]
    return Load(name, len(flat), sum(errors), elapsed, percentile(flat, 0.50), percentile(flat, 0.90),
                percentile(flat, 0.99), statistics.fmean(flat), server_cpu / elapsed, client_cpu / elapsed)


def lua_string(text: str) -> str:
    """`text` as a Lua string literal (every byte outside printable ASCII as a three-digit decimal escape)."""
    return '"' + "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else
                         "".join(f"\\{b:03d}" for b in c.encode()) for c in text) + '"'


def wrk_script(folder: Path, bodies: Sequence[bytes], headers: dict[str, str]) -> Path:
    """A wrk Lua script posting `bodies` in turn with `headers`."""
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()]
    lines.append("local bodies = {" + ",\n".join(lua_string(b.decode()) for b in bodies) + "}")
    lines += ["local i = 0", "request = function()", "  i = i % #bodies + 1",
              "  return wrk.format(nil, nil, nil, bodies[i])", "end"]
    path = folder / f"post-{len(list(folder.glob('post-*.lua')))}.lua"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def wrk_seconds(text: str) -> float:
    """A wrk duration (`812.00us`, `33.10ms`, `1.02s`) in seconds."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise SystemExit(f"wrk: cannot read the duration {text!r}")
    return float(found[1]) * UNITS[found[2]]


def wrk_report(text: str) -> dict[str, float]:
    """Requests, seconds, mean, p50, p90, p99 and errors (non-2xx answers and socket errors) from wrk's
    `--latency` report."""
    def find(pattern: str) -> re.Match[str]:
        found = re.search(pattern, text, re.MULTILINE)
        if found is None:
            raise SystemExit(f"wrk: no {pattern!r} in its report:\n{text}")
        return found

    done = find(r"^\s*(\d+) requests in ([\d.]+\w+),")
    out = {"requests": float(done[1]), "seconds": wrk_seconds(done[2]),
           "mean": wrk_seconds(find(r"^\s*Latency\s+(\S+)")[1])}
    for q in (50, 90, 99):
        out[f"p{q}"] = wrk_seconds(find(rf"^\s*{q}%\s+(\S+)")[1])
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["errors"] = float((int(non_2xx[1]) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0))
    return out


def drive_wrk(name: str, url: str, script: Path, clients: int, seconds: float, warmup: float, pid: int) -> Load:
    """wrk, one thread and `clients` connections, on `url` with `script`: `warmup` seconds, then a measured run
    of `seconds`."""
    command = ["wrk", "-t1", f"-c{clients}", "-s", str(script)]
    if warmup > 0:
        subprocess.run([*command, f"-d{max(1, round(warmup))}s", url], check=True, capture_output=True)
    server_cpu, children = cpu_seconds(pid), resource.getrusage(resource.RUSAGE_CHILDREN)
    begun = time.perf_counter()
    done = subprocess.run([*command, f"-d{max(1, round(seconds))}s", "--latency", url], check=True,
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - begun
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = cpu_seconds(pid) - server_cpu
    client_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    r = wrk_report(done.stdout)
    return Load(name, int(r["requests"]), int(r["errors"]), r["seconds"], r["p50"], r["p90"], r["p99"], r["mean"],
                server_cpu / elapsed, client_cpu / elapsed)


def service_command(port: int, tokens: Path, work: Path, store: str | None) -> list[str]:
    command = [sys.executable, "-m", "policyengine", "serve", "--port", str(port), "--tokens", str(tokens),
               "--work-dir", str(work)]
    return command + (["--store", store] if store else ["--no-record"])


def batch_applicants(n: int, seed: int) -> list[dict[str, object]]:
    from policyengine.facts.uscc import check_character

    rows = synthetic_rows(load_bundled(), n, seed)
    rng = random.Random(seed)
    for i, row in enumerate(rows):
        first17 = f"912101{rng.choice('0123')}{i:010d}"
        row["uscc"] = first17 + check_character(first17)
        row["name"] = f"企业{i}"
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--driver", choices=["auto", "wrk", "python"], default="auto",
                        help="the load generator: wrk (a C program, its own process) or python (client threads "
                             "in this process); auto: wrk when it is on PATH")
    args = parser.parse_args(argv)
    use_wrk = args.driver == "wrk" or (args.driver == "auto" and shutil.which("wrk") is not None)
    if args.driver == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("--driver wrk: wrk is not on PATH (Debian: apt-get install wrk)")

    packages = load_bundled()
    rows = example_rows(packages)
    ids = [p.id for p in packages]
    bodies = [json.dumps({"facts": r, "packages": ids}, ensure_ascii=False).encode() for r in rows]
    print(f"load average before: {load_average()} ({os.cpu_count()} cores); python {sys.version.split()[0]}")
    if use_wrk:
        driver = f"wrk -t1 -c{args.clients} -d{max(1, round(args.seconds))}s --latency (one process, C)"
    else:
        driver = f"{args.clients} Python client threads in this process"
        if args.driver == "auto":
            print("note: wrk is not on PATH: the load comes from Python threads of this process, which take "
                  "CPU from the server on a small machine (Debian: apt-get install wrk)")
    print(f"{len(rows)} example applicants, both packages ({', '.join(ids)}); {driver}; "
          f"{args.warmup:g} s warm-up, {args.seconds:g} s measured per server")
    results: list[Load] = []
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp_name:
        tmp = Path(tmp_name)
        tokens = tmp / "tokens.yaml"
        token = add_token(tokens, "压测", "clerk")
        auth = {"Authorization": f"Bearer {token}"}
        comparator = tmp / "comparator.py"
        comparator.write_text(COMPARATOR, encoding="utf-8")

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with server([sys.executable, str(comparator), str(port), EVENT_LOOP], url) as proc:
            expected = [httpx.post(url + "/evaluate", content=b, timeout=60).json()["total"] for b in bodies]
            if use_wrk:
                comparator_load = drive_wrk("comparator (minimal FastAPI app)", url + "/evaluate",
                                            wrk_script(tmp, bodies, {}), args.clients, args.seconds,
                                            args.warmup, proc.pid)
            else:
                comparator_load = drive("comparator (minimal FastAPI app)", url, "/evaluate", bodies, {},
                                        args.clients, args.seconds, args.warmup, proc.pid)

        batch_seconds: float | None = None
        batch_note = ""
        for name, store in (("service, no store", None), ("service, SQLite store", f"{tmp}/decisions.db")):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            work = tmp / f"work-{port}"
            with server(service_command(port, tokens, work, store), url) as proc:
                first = httpx.post(url + "/v1/evaluate", content=bodies[0], timeout=60,
                                   headers={**auth, "Content-Type": "application/json"})
                if first.status_code != 200:
                    raise SystemExit(f"{name}: HTTP {first.status_code}: {first.text[:300]}")
                got = [httpx.post(url + "/v1/evaluate", content=b, timeout=60,
                                  headers={**auth, "Content-Type": "application/json"}).json()["decision"]["total"]
                       for b in bodies]
                if got != expected:
                    raise SystemExit(f"{name}: totals differ from the comparator's")
                if use_wrk:
                    results.append(drive_wrk(name, url + "/v1/evaluate", wrk_script(tmp, bodies, auth),
                                             args.clients, args.seconds, args.warmup, proc.pid))
                else:
                    results.append(drive(name, url, "/v1/evaluate", bodies, auth, args.clients, args.seconds,
                                         args.warmup, proc.pid))
                if store is None and args.batch:
                    applicants = batch_applicants(args.batch, args.seed)
                    body = json.dumps({"applicants": applicants, "packages": ids}, ensure_ascii=False).encode()
                    start = time.perf_counter()
                    answer = httpx.post(url + "/v1/evaluate/batch", content=body, timeout=600,
                                        headers={**auth, "Content-Type": "application/json"})
                    batch_seconds = time.perf_counter() - start
                    if answer.status_code != 200:
                        raise SystemExit(f"batch: HTTP {answer.status_code}: {answer.text[:300]}")
                    else:
                        data = answer.json()
                        batch_note = (f"{len(body) / 1e6:.1f} MB request, {len(answer.content) / 1e6:.1f} MB answer; "
                                      f"{data['decided']:,} decided, {data['rejected']:,} rejected")
    results.append(comparator_load)

    print()
    client = "wrk cores" if use_wrk else "client cores"
    print(f"{'POST /v1/evaluate':<34} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>7} "
          f"{'server cores':>13} {'req/s per server core':>22} {client:>13}")
    for r in results:
        print(f"{r.name:<34} {r.rate:>8.0f} {r.p50 * 1000:>8.1f} {r.p90 * 1000:>8.1f} {r.p99 * 1000:>8.1f} "
              f"{r.errors:>7} {r.server_cores:>13.2f} {r.rate / max(r.server_cores, 1e-9):>22.0f} "
              f"{r.client_cores:>13.2f}")
    base = comparator_load
    for r in results[:-1]:
        print(f"{r.name}: throughput {r.rate / base.rate:.2f}× the comparator's, p99 {r.p99 / base.p99:.2f}×, "
              f"mean latency {r.mean * 1000:.1f} ms")
    print()
    if batch_seconds is not None:
        print(f"POST /v1/evaluate/batch, {args.batch:,} applicants: {batch_seconds:.2f} s ({batch_note})")
    elif args.batch:
        print(batch_note or "POST /v1/evaluate/batch: not measured (the service's /v1/evaluate is missing)")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
