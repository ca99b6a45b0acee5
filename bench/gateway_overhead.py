"""How much time the gateway adds to a model call, and streaming throughput under load.

Runs the scripted model server (zero latency) and the shuzhi API in their own processes, then
measures from this process, interleaving the paths so machine noise hits them alike:

- ``direct``      the OpenAI SDK straight to the scripted server (the baseline);
- ``gateway``     ``Gateway.chat`` in this process (endpoint inside the trust zone: no masking);
- ``masked``      ``Gateway.chat`` to an endpoint outside the trust zone (masking and unmasking);
- ``http /v1``    the OpenAI SDK to shuzhi's ``/v1`` (API key check, gateway, usage row);
- ``v1 touch``    with ``--compare-key-touch``: a second API process that writes the key's
                  ``last_used_at`` on every call, as shuzhi did before it was written at most once a
                  minute per key (what that write costs).

Overhead is the path's latency minus the baseline's (median and p99). Then ``--clients``
concurrent streaming clients run ``--stream-rounds`` streamed answers each, directly and through
``/v1``, and the requests and chunks per second are compared.

    .venv/bin/python bench/gateway_overhead.py                       # SQLite in a temp dir
    .venv/bin/python bench/gateway_overhead.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import openai

QUESTION = "你好，我的社保卡丢了，电话 13812345678，身份证 11010519491231002X，怎么补办？"
STREAM_TEXT = "您好，社保卡遗失后请先挂失，再携带身份证到任一服务网点补办，一般当场可取。" * 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stream_reply(body: dict[str, Any]) -> Any:
    from shuzhi.gateway.testing import Reply

    if body.get("stream"):
        return Reply(content=STREAM_TEXT, chunk_size=4)
    return Reply(content="您好，请携带身份证到服务网点补办。")


def _run_scripted(port: int) -> None:
    from shuzhi.gateway.testing import ScriptedModelServer

    ScriptedModelServer(handler=_stream_reply, port=port).serve_forever(log_level="warning")


def _run_api(port: int, database_url: str, data_dir: str, touch_every_call: bool = False) -> None:
    import logging
    from datetime import timedelta

    import uvicorn

    from shuzhi.api import create_app
    from shuzhi.config import Settings
    from shuzhi.storage.db import Database

    logging.getLogger("shuzhi").setLevel(logging.WARNING)
    if touch_every_call:
        import shuzhi.platform.identity as identity

        identity.LAST_USED_RESOLUTION = timedelta(0)
    settings = Settings(data_dir=Path(data_dir), database_url=database_url, secret_key="bench")
    app = create_app(settings, Database(database_url))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _prepare(database_url: str, data_dir: str, model_url: str) -> str:
    """Migrate, add the two endpoints and an operator's API key; return the key."""
    from shuzhi.config import Settings
    from shuzhi.gateway.registry import EndpointSpec, add_endpoint
    from shuzhi.platform.identity import create_api_key, create_user
    from shuzhi.platform.roles import Role
    from shuzhi.storage.db import Database
    from shuzhi.storage.migrate import upgrade

    db = Database(database_url)
    upgrade(db)
    settings = Settings(data_dir=Path(data_dir), database_url=database_url, secret_key="bench")
    with db.session() as session:
        for name, zone in (("bench", "inside"), ("bench-masked", "outside")):
            spec = EndpointSpec(name=name, base_url=model_url, model="deepseek-chat",
                                trust_zone=zone, max_concurrency=1000)  # fmt: skip
            add_endpoint(session, settings, spec, actor="bench")
        user = create_user(session, "bench", None, [(Role.OPERATOR, None)])
        _, key = create_api_key(session, "bench", user.id)
    db.dispose()
    return key


def _wait_for(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"server at {url} did not start")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


Call = Callable[[], Awaitable["float | None"]]


async def _timed(call: Call) -> tuple[float, float]:
    """Wall time of one call and the part of it not spent waiting for the model (ms)."""
    start = time.perf_counter()
    upstream = await call()
    wall = (time.perf_counter() - start) * 1000
    return wall, (wall - upstream) if upstream is not None else 0.0


async def latency(paths: dict[str, Call], n: int) -> dict[str, list[tuple[float, float]]]:
    for call in paths.values():  # warm up connections and caches
        for _ in range(20):
            await call()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
    names = list(paths)
    for i in range(n):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            results[name].append(await _timed(paths[name]))
    return results


def _server_timing(headers: Any) -> float:
    parts = dict(p.strip().split(";dur=") for p in headers["server-timing"].split(","))
    return float(parts["upstream"])


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_cost(
    paths: dict[str, Call],
    n: int,
    pids: list[int],
    flush: Callable[[], Any],
) -> dict[str, float]:
    """CPU milliseconds per request, summed over this process and the servers, in rotated blocks.

    CPU time does not grow when other work on the machine delays a request, so on a busy machine
    it shows the gateway's own cost more steadily than wall time does.
    """
    totals = dict.fromkeys(paths, 0.0)
    rounds, names = 5, list(paths)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            before = time.process_time() + sum(_cpu_seconds(p) for p in pids)
            for _ in range(n // rounds):
                await paths[name]()
            await asyncio.to_thread(flush)
            totals[name] += time.process_time() + sum(_cpu_seconds(p) for p in pids) - before
    return {name: total * 1000 / (rounds * (n // rounds)) for name, total in totals.items()}


async def stream_load(
    client: openai.AsyncOpenAI, model: str, clients: int, rounds: int
) -> tuple[float, int]:
    async def one_client() -> int:
        chunks = 0
        for _ in range(rounds):
            stream = await client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": QUESTION}], stream=True
            )
            async for _chunk in stream:
                chunks += 1
        return chunks

    start = time.perf_counter()
    counts = await asyncio.gather(*(one_client() for _ in range(clients)))
    return time.perf_counter() - start, sum(counts)


async def main(args: argparse.Namespace) -> None:
    from shuzhi.config import Settings
    from shuzhi.gateway import ChatRequest, Gateway
    from shuzhi.storage.db import Database

    data_dir = tempfile.mkdtemp(prefix="shuzhi-bench-")
    database_url = args.database_url or f"sqlite:///{data_dir}/bench.db"
    model_port, api_port, touch_port = _free_port(), _free_port(), _free_port()
    model_url = f"http://127.0.0.1:{model_port}/v1"
    key = _prepare(database_url, data_dir, model_url)

    ctx = multiprocessing.get_context("spawn")
    servers = [
        ctx.Process(target=_run_scripted, args=(model_port,), daemon=True),
        ctx.Process(target=_run_api, args=(api_port, database_url, data_dir), daemon=True),
    ]
    if args.compare_key_touch:
        touching = (touch_port, database_url, data_dir, True)
        servers.append(ctx.Process(target=_run_api, args=touching, daemon=True))
    for server in servers:
        server.start()
    _wait_for(f"http://127.0.0.1:{model_port}/v1/models")
    _wait_for(f"http://127.0.0.1:{api_port}/health")
    if args.compare_key_touch:
        _wait_for(f"http://127.0.0.1:{touch_port}/health")

    settings = Settings(data_dir=Path(data_dir), database_url=database_url, secret_key="bench")
    gateway = Gateway(Database(database_url), settings)
    direct = openai.AsyncOpenAI(base_url=model_url, api_key="x", max_retries=0)
    via_api = openai.AsyncOpenAI(
        base_url=f"http://127.0.0.1:{api_port}/v1", api_key=key, max_retries=0, timeout=120
    )
    messages = [{"role": "user", "content": QUESTION}]

    async def call_direct() -> None:
        await direct.chat.completions.create(model="deepseek-chat", messages=messages)

    async def call_gateway(model: str) -> float:
        return (await gateway.chat(ChatRequest(messages=messages, model=model))).upstream_ms

    via_touch = via_api.with_options(base_url=f"http://127.0.0.1:{touch_port}/v1")

    async def call_api(client: openai.AsyncOpenAI = via_api) -> float:
        raw = await client.chat.completions.with_raw_response.create(
            model="bench", messages=messages
        )
        return _server_timing(raw.headers)

    paths: dict[str, Call] = {
        "direct": call_direct,
        "gateway": lambda: call_gateway("bench"),
        "masked": lambda: call_gateway("bench-masked"),
        "http /v1": call_api,
    }
    if args.compare_key_touch:
        paths["v1 touch"] = lambda: call_api(via_touch)
    results = await latency(paths, args.requests)
    report_latency(results, args.requests)
    pids = [p.pid for p in servers if p.pid is not None]
    cpu = await cpu_cost(paths, args.requests, pids, gateway.flush_usage)
    print("CPU ms per request, all processes (overhead vs direct):")
    for name, ms in cpu.items():
        print(f"{name:10s} {ms:8.2f} ({ms - cpu['direct']:+.2f})")

    for name, client, model in (
        ("direct", direct, "deepseek-chat"),
        ("http /v1", via_api, "bench"),
    ):
        # A connection closed by the server just as it is reused is not what is measured here.
        client = client.with_options(max_retries=2)
        seconds, chunks = await stream_load(client, model, args.clients, args.stream_rounds)
        done = args.clients * args.stream_rounds
        rate = f"{done / seconds:.1f} answers/s, {chunks / seconds:.0f} chunks/s"
        print(f"stream {name:9s}: {done} answers, {args.clients} clients, {seconds:.2f} s = {rate}")

    for server in servers:
        server.terminate()
    print(f"database: {database_url.split('://')[0]}, cpus: {os.cpu_count()}")


def report_latency(results: dict[str, list[tuple[float, float]]], n: int) -> None:
    """Wall latency per path, and the part of each call not spent in the model (paired)."""
    base = [wall for wall, _ in results["direct"]]
    base_median = statistics.median(base)
    print(f"latency over {n} interleaved requests per path (ms):")
    print(f"{'path':9s} {'median':>7s} {'p99':>7s} {'vs direct':>10s} "
          f"{'own median':>11s} {'own p99':>8s}")  # fmt: skip
    for name, pairs in results.items():
        walls, own = [w for w, _ in pairs], [o for _, o in pairs]
        median = statistics.median(walls)
        print(f"{name:9s} {median:7.2f} {_percentile(walls, 0.99):7.2f} "
              f"{median - base_median:+10.2f} {statistics.median(own):11.2f} "
              f"{_percentile(own, 0.99):8.2f}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--stream-rounds", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--compare-key-touch",
        action="store_true",
        help="also measure /v1 writing api_keys.last_used_at on every call (the old behaviour)",
    )
    asyncio.run(main(parser.parse_args()))
