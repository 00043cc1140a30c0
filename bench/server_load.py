"""Load, crash-safety and latency of ``consona serve`` (a real server process over HTTP).

Three parts, each against a fresh server subprocess on a free local port:

* ``load`` — ``--concurrency`` (200) streaming chat completions at once on the fake
  backend (fake NLI, the server's default 4 candidates): errors, time to first token
  (TTFT) and total time, p50/p99. Baseline in the same run: the same request alone.
* ``crash`` — the same burst with a session id per request, on a fake model that
  streams a word every 20 ms; once a tenth of the streams have finished the server gets
  ``kill -9`` (one reply is on the wire, the rest wait), ``consona serve`` is started on
  the same data folder, and every turn whose stream reached ``[DONE]`` must be there
  (no session may hold half an exchange; the cut reply is not stored).
* ``real`` (``--real``) — the default chat model and NLI judge, a few rounds of requests:
  a guarded ``n=4`` stream (first token of the chosen reply) for each ``--choose`` mode
  (``best``: all four drawn, then re-ranked; ``first-clean``: candidate 0 sent when the
  guard passes it, the other choices drawn after) against a plain ``n=1`` stream of the
  same persona, question, seed and max_tokens (a server with ``--candidates 1 --nli
  none``: the backend's own token stream; its last token). Per round ratio, median and
  worst; the server processes' CPU seconds per request too.

    python bench/server_load.py                       # load + crash on the fake backend
    python bench/server_load.py --real --requests 3   # + the default model
    python bench/server_load.py --only-real --requests 6 --out bench/results/server_load_real.json
Writes JSON (``--out``, default bench/results/server_load.json) and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from consona.io import atomic_write

QUESTIONS = [
    "Do you have any pets?",
    "What do you do in the evenings?",
    "Where did you grow up?",
    "Do you like flying?",
    "What do you eat?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``consona serve`` in a subprocess."""

    def __init__(self, data_dir: Path, *args: str, nice: int = 0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "consona.cli.main", "serve", "--port", str(self.port),
               "--data-dir", str(data_dir), "--rate-limit", "0", *args]  # fmt: skip
        if nice:
            cmd = ["nice", "-n", str(nice), *cmd]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)

    def wait_ready(self, timeout: float = 180) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError("server died:\n" + self.log.read().decode()[-3000:])
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def cpu_s(self) -> float:
        """CPU seconds the server process has used (Linux /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()


async def stream_one(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], on_done: Any = None
) -> dict[str, Any]:
    """One streamed completion: ttft (first content delta), total, text, ok, error.
    ``on_done(out)`` (optional) is called after each piece and at the end."""
    start = time.perf_counter()
    out: dict[str, Any] = {"ttft_s": None, "total_s": None, "ok": False, "chunks": 0, "text": ""}
    try:
        async with client.stream("POST", url + "/v1/chat/completions", json=body) as r:
            if r.status_code != 200:
                out["error"] = f"HTTP {r.status_code}: {(await r.aread())[:200]!r}"
                return out
            async for line in r.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    out["ok"] = bool(out["text"])
                    break
                chunk = json.loads(data)
                if chunk.get("usage"):
                    out["usage"] = chunk["usage"]
                if "error" in chunk:
                    out["error"] = chunk["error"]["message"]
                    break
                for ch in chunk.get("choices", []):
                    piece = ch.get("delta", {}).get("content")
                    if piece and ch.get("index", 0) == 0:
                        if out["ttft_s"] is None:
                            out["ttft_s"] = time.perf_counter() - start
                        out["text"] += piece
                        out["chunks"] += 1
                        if on_done is not None:
                            on_done(out)
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    out["total_s"] = time.perf_counter() - start
    if on_done is not None:
        on_done(out)
    return out


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(q / 100 * (len(values) - 1))))
    return round(values[k], 4)


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    ttft = [r["ttft_s"] for r in results if r["ttft_s"] is not None]
    total = [r["total_s"] for r in results if r["ok"]]
    errors = [r.get("error") or "no [DONE]" for r in results if not r["ok"]]
    return {
        "requests": len(results),
        "errors": len(errors),
        "error_examples": sorted(set(map(str, errors)))[:3],
        "ttft_p50_s": pct(ttft, 50),
        "ttft_p99_s": pct(ttft, 99),
        "ttft_max_s": pct(ttft, 100),
        "total_p50_s": pct(total, 50),
        "total_p99_s": pct(total, 99),
    }


def body(i: int, *, session: str | None = None, **extra: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "model": "consona/mira",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": QUESTIONS[i % len(QUESTIONS)]}],
        **extra,
    }
    if session:
        b["consona"] = {"session": session, "user": "bench"}
    return b


async def burst(url: str, n: int, *, sessions: bool = False, on_done: Any = None) -> Any:
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        tasks = [
            stream_one(client, url, body(i, session=f"load-{i}" if sessions else None), on_done)
            for i in range(n)
        ]
        return await asyncio.gather(*tasks)


def part_load(concurrency: int, tmp: Path) -> dict[str, Any]:
    server = Server(tmp / "load", "--backend", "fake", "--nli", "fake")
    try:
        startup = server.wait_ready()
        alone = [asyncio.run(burst(server.url, 1))[0] for _ in range(5)]
        cpu0, own0 = server.cpu_s(), time.process_time()
        start = time.perf_counter()
        results = asyncio.run(burst(server.url, concurrency))
        wall = time.perf_counter() - start
        server_cpu, client_cpu = server.cpu_s() - cpu0, time.process_time() - own0
    finally:
        server.stop()
    return {
        "backend": "fake",
        "nli": "fake",
        "candidates": 4,
        "concurrency": concurrency,
        "server_startup_s": round(startup, 3),
        "baseline_alone": summary(alone),
        "concurrent": summary(results),
        "wall_s": round(wall, 3),
        "server_cpu_s": round(server_cpu, 3),
        "client_cpu_s": round(client_cpu, 3),
        "load_average_1m": os.getloadavg()[0],
        "target_ttft_p99_s": 1.0,
        "met": summary(results)["errors"] == 0 and (summary(results)["ttft_p99_s"] or 99) <= 1.0,
    }


class SlowStreamServer(Server):
    """This script in ``--serve-slow`` mode: the app on a fake model that streams one word
    every ``WORD_DELAY_S`` (the direct token-stream path: one candidate, no judge), so a
    kill lands while a reply is on the wire."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, __file__, "--serve-slow", str(self.port), str(data_dir)]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)


WORD_DELAY_S = 0.02


def serve_slow(port: int, data_dir: str) -> None:
    import uvicorn

    from consona.backends.base import Request
    from consona.server import ServerConfig, create_app
    from consona.testing import FakeBackend

    class SlowStream(FakeBackend):
        def execute_stream(self, request: Request) -> Any:
            for piece in super().execute_stream(request):
                time.sleep(WORD_DELAY_S)
                yield piece

    reply = "The lamp turns all night and I watch the ships pass by the rocks."
    config = ServerConfig(backend=SlowStream([reply]), nli=None, candidates=1, data_dir=data_dir)
    uvicorn.run(create_app(config), host="127.0.0.1", port=port, log_level="warning")


def part_crash(concurrency: int, tmp: Path) -> dict[str, Any]:
    data = tmp / "crash"
    server = SlowStreamServer(data)
    server.wait_ready()
    kill_after = max(1, concurrency // 10)
    done_count = 0
    killed_at: list[float] = []
    finished: set[int] = set()

    def on_event(out: dict[str, Any]) -> None:
        # kill -9 once a tenth have finished and a reply is half-way on the wire
        nonlocal done_count
        if out["ok"] and id(out) not in finished:
            finished.add(id(out))
            done_count += 1
        elif not out["ok"] and out["chunks"] >= 3 and done_count >= kill_after and not killed_at:
            killed_at.append(time.perf_counter())
            server.kill9()

    results = asyncio.run(burst(server.url, concurrency, sessions=True, on_done=on_event))
    server.stop()
    completed = [i for i, r in enumerate(results) if r["ok"]]
    mid_stream = [i for i, r in enumerate(results) if not r["ok"] and r["chunks"] > 0]
    restarted = Server(data, "--backend", "fake", "--nli", "fake")
    try:
        restarted.wait_ready()
        stored: dict[int, int] = {}
        with httpx.Client(timeout=30) as client:
            for i in range(concurrency):
                r = client.get(f"{restarted.url}/v1/sessions/load-{i}")
                stored[i] = len(r.json()["turns"]) if r.status_code == 200 else 0
    finally:
        restarted.stop()
    lost = [i for i in completed if stored[i] != 2]
    partial = [i for i, n in stored.items() if n % 2]
    cut_short = [i for i in mid_stream if stored[i]]
    return {
        "requests": concurrency,
        "word_delay_s": WORD_DELAY_S,
        "killed_after_done": done_count if killed_at else None,
        "completed_before_kill": len(completed),
        "mid_stream_at_kill": len(mid_stream),
        "sessions_stored_after_restart": sum(1 for n in stored.values() if n),
        "completed_but_lost": len(lost),
        "half_exchanges": len(partial),
        "mid_stream_but_stored": len(cut_short),
        "restart_reads_with_the_cli_server": True,
        "met": bool(killed_at) and bool(mid_stream) and not lost and not partial,
    }


def part_real(
    n_requests: int, tmp: Path, max_tokens: int, nice: int, modes: list[str]
) -> dict[str, Any]:
    """One plain server and one guarded server per ``--choose`` mode run at once, and the
    requests come in rounds (each guarded mode at ``n=4`` and the plain ``n=1`` on the same
    question, seed and max_tokens; the order rotates) so that other load on the machine hits
    every condition alike. Each round gives one ratio per mode: the n=4 stream's first
    token of the chosen reply over the n=1 stream's last token; the target is judged on
    the median ratio, and the worst one is reported beside it."""
    out: dict[str, Any] = {"requests": n_requests, "max_tokens": max_tokens, "modes": modes}
    guarded = {m: Server(tmp / f"real-{m}", "--candidates", "4", "--choose", m, nice=nice)
               for m in modes}  # fmt: skip
    plain = Server(tmp / "real-plain", "--candidates", "1", "--nli", "none", nice=nice)
    n4: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    n1: list[dict[str, Any]] = []

    async def one(client: httpx.AsyncClient, server: Server, b: dict[str, Any]) -> Any:
        cpu0 = server.cpu_s()
        r = await stream_one(client, server.url, b)
        r["server_cpu_s"] = round(server.cpu_s() - cpu0, 3)
        r["load_1m"] = os.getloadavg()[0]
        return r

    async def run() -> None:
        async with httpx.AsyncClient(timeout=900) as client:
            # warm-up: model pages and the judge loaded, every llama.cpp context created
            for server in guarded.values():
                await stream_one(client, server.url, {**body(0, seed=0, max_tokens=4), "n": 4})
            await stream_one(client, plain.url, body(0, seed=0, max_tokens=4))
            conditions = [None, *modes]  # None: the plain server
            for i in range(n_requests):
                b = body(i, seed=i, max_tokens=max_tokens)
                k = i % len(conditions)
                for cond in conditions[k:] + conditions[:k]:
                    if cond is None:
                        n1.append(await one(client, plain, b))
                    else:
                        n4[cond].append(await one(client, guarded[cond], {**b, "n": 4}))

    try:
        for m, server in guarded.items():
            out[f"guarded_{m}_startup_s"] = round(server.wait_ready(), 2)
        out["plain_startup_s"] = round(plain.wait_ready(), 2)
        cpu0 = os.getloadavg()[0]
        asyncio.run(run())
        out["load_average_1m"] = [cpu0, os.getloadavg()[0]]
    finally:
        for server in guarded.values():
            server.stop()
        plain.stop()
    out["n1_plain_first_token_s"] = [round(r["ttft_s"] or -1, 3) for r in n1]
    out["n1_plain_last_token_s"] = [round(r["total_s"], 3) for r in n1]
    out["n1_server_cpu_s"] = [r["server_cpu_s"] for r in n1]
    out["n1_completion_tokens"] = [r.get("usage", {}).get("completion_tokens") for r in n1]
    out["target_ratio"] = 1.5
    out["replies"] = {"n1": [r["text"] for r in n1]}
    for m in modes:
        rs = n4[m]
        res: dict[str, Any] = {
            "first_token_s": [round(r["ttft_s"] or -1, 3) for r in rs],
            "last_token_s": [round(r["total_s"], 3) for r in rs],
            "server_cpu_s": [r["server_cpu_s"] for r in rs],
            # tokens drawn for the four choices (all candidates) vs the plain reply's own
            "completion_tokens": [r.get("usage", {}).get("completion_tokens") for r in rs],
            "errors": sum(not r["ok"] for r in rs),
        }
        ok = [(a, b) for a, b in zip(rs, n1, strict=True) if a["ok"] and b["ok"] and a["ttft_s"]]
        ratios = [a["ttft_s"] / b["total_s"] for a, b in ok]
        res["per_pair_ratio"] = [round(x, 2) for x in ratios]
        res["pairs_compared"] = len(ok)
        res["median_ratio"] = round(statistics.median(ratios), 2) if ratios else None
        res["worst_ratio"] = round(max(ratios), 2) if ratios else None
        res["best_ratio"] = round(min(ratios), 2) if ratios else None
        if ok:
            res["median_first_token_s"] = round(statistics.median(a["ttft_s"] for a, _ in ok), 3)
            res["median_n1_last_token_s"] = round(statistics.median(b["total_s"] for _, b in ok), 3)
        cpu = [a["server_cpu_s"] / b["server_cpu_s"] for a, b in ok if b["server_cpu_s"] > 0]
        res["median_server_cpu_ratio"] = round(statistics.median(cpu), 2) if cpu else None
        # met: every pair compared (no error on either side) and the median pair within target
        res["met"] = bool(
            ratios and len(ok) == n_requests and statistics.median(ratios) <= out["target_ratio"]
        )
        res["met_by_every_pair"] = bool(ratios and max(ratios) <= out["target_ratio"])
        out[m] = res
        out["replies"][m] = [r["text"] for r in rs]
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve-slow"]:
        serve_slow(int(argv[1]), argv[2])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--real", action="store_true", help="also run the default model")
    ap.add_argument("--only-real", action="store_true", help="run only the real-model part")
    ap.add_argument("--requests", type=int, default=3, help="requests per real condition")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--nice", type=int, default=0, help="extra niceness of the real-model servers")
    ap.add_argument(
        "--choose",
        default="best,first-clean",
        help="the guarded servers' --choose modes to compare with the plain stream (comma list)",
    )
    ap.add_argument("--out", type=Path, default=Path("bench/results/server_load.json"))
    args = ap.parse_args(argv)
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with tempfile.TemporaryDirectory(prefix="consona-bench-") as t:
        tmp = Path(t)
        if not args.only_real:
            report["load"] = part_load(args.concurrency, tmp)
            print(json.dumps({"load": report["load"]}, indent=1), file=sys.stderr)
            report["crash"] = part_crash(args.concurrency, tmp)
            print(json.dumps({"crash": report["crash"]}, indent=1), file=sys.stderr)
        if args.real or args.only_real:
            modes = [m.strip() for m in args.choose.split(",") if m.strip()]
            report["real"] = part_real(args.requests, tmp, args.max_tokens, args.nice, modes)
            print(json.dumps({"real": {k: v for k, v in report["real"].items() if k != "replies"}},
                             indent=1), file=sys.stderr)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
