"""A scripted OpenAI-compatible model server, shipped so tests and demos never need a real model.

It serves real HTTP on 127.0.0.1 from a background thread, so the gateway's real client code (the
``openai`` SDK over HTTP) runs against it unchanged::

    with ScriptedModelServer() as server:
        server.push("您好", Reply.error(429, retry_after=0), Reply(reasoning="想", content="答"))
        ...point an endpoint at server.base_url...
        assert server.chat_requests[0]["messages"][-1]["content"] == "..."

Replies come from a queue (``push``) or, when a ``handler`` is given, from a function that gets the
request body and returns a :class:`Reply` or a plain string. With nothing queued and no handler the
server echoes the last user message, which is enough for a demo. Every request received is kept in
``requests`` so a test can check what actually left the gateway (masked text, no reasoning fed
back).

Failures are injected per reply: an HTTP status (429 with ``Retry-After``, 500, ...), a delay before
answering (a slow endpoint, to trip timeouts) and a stream cut after a number of chunks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from shuzhi.gateway.upstream import encode_vector

log = logging.getLogger(__name__)

DEFAULT_MODELS = ("deepseek-chat", "deepseek-reasoner", "scripted-embedding")


@dataclass
class ScriptedToolCall:
    """A tool call the scripted model makes; ``arguments`` may be a dict or a JSON string."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, ensure_ascii=False)


@dataclass
class Reply:
    """One scripted answer, or one injected failure."""

    content: str = ""
    reasoning: str | None = None
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    cut_after: int | None = None
    usage: dict[str, Any] | None = None
    chunk_size: int = 4

    @classmethod
    def error(cls, status: int, *, retry_after: float | None = None) -> Reply:
        """An HTTP error answer: 429 (with ``Retry-After`` when given), 500, 503, 401 ..."""
        return cls(status=status, retry_after=retry_after)

    @classmethod
    def slow(cls, delay: float, content: str = "慢速回答") -> Reply:
        return cls(content=content, delay=delay)

    @classmethod
    def cut(cls, content: str, after: int = 1) -> Reply:
        """A streamed answer whose connection drops after ``after`` chunks, before it finishes."""
        return cls(content=content, cut_after=after)

    @classmethod
    def tools(cls, *calls: ScriptedToolCall, content: str = "") -> Reply:
        return cls(content=content, tool_calls=list(calls))

    @property
    def effective_finish_reason(self) -> str:
        if self.finish_reason:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"


Handler = Callable[[dict[str, Any]], "Reply | str"]


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class _StreamCut(Exception):
    """Raised inside a streaming body to make the server drop the connection mid-answer."""


class _HideStreamCuts(logging.Filter):
    """Keep uvicorn from printing a traceback for a cut we injected on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, _StreamCut):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


logging.getLogger("uvicorn.error").addFilter(_HideStreamCuts())


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: about one token per two characters."""
    return (len(text) + 1) // 2


def _prompt_text(body: dict[str, Any]) -> str:
    parts = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        parts.append(f"{message.get('role')}:{content or ''}")
    return "\n".join(parts)


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def hashed_embedding(text: str, dim: int = 256) -> list[float]:
    """Character uni- and bi-grams hashed into ``dim`` buckets, L2-normalised. Deterministic."""
    vector = [0.0] * dim
    grams = list(text) + [text[i : i + 2] for i in range(len(text) - 1)]
    for gram in grams:
        digest = hashlib.blake2b(gram.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dim
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[bucket] += sign
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class _Script:
    """The reply queue, the handler and the request record, shared with the server thread."""

    def __init__(self, handler: Handler | None) -> None:
        self.handler = handler
        self.replies: deque[Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self.prompts: list[str] = []
        self.lock = threading.Lock()

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self.lock:
            if self.replies:
                return self.replies.popleft()
        if self.handler is not None:
            made = self.handler(body)
            return Reply(content=made) if isinstance(made, str) else made
        return Reply(content=f"echo: {_last_user_text(body)}")

    def cache_hit_tokens(self, prompt: str) -> int:
        """Simulate a provider's prefix cache: the longest prefix shared with an earlier prompt."""
        with self.lock:
            best = max((_common_prefix(prompt, p) for p in self.prompts), default=0)
            self.prompts.append(prompt)
        return best // 2


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return ""


def _usage(reply: Reply, prompt: str, hit: int) -> dict[str, Any]:
    prompt_tokens = count_tokens(prompt)
    completion = count_tokens(reply.content) + sum(
        count_tokens(c.arguments_json()) for c in reply.tool_calls
    )
    reasoning = count_tokens(reply.reasoning or "")
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion + reasoning,
        "total_tokens": prompt_tokens + completion + reasoning,
        "prompt_cache_hit_tokens": hit,
        "prompt_cache_miss_tokens": prompt_tokens - hit,
        "prompt_tokens_details": {"cached_tokens": hit},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }
    usage.update(reply.usage or {})
    return usage


def _tool_call_json(call: ScriptedToolCall, index: int) -> dict[str, Any]:
    return {
        "index": index,
        "id": call.id or f"call_{uuid.uuid4().hex[:12]}",
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_json()},
    }


def _completion(reply: Reply, model: str, usage: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    if reply.tool_calls:
        message["tool_calls"] = [
            {k: v for k, v in _tool_call_json(c, i).items() if k != "index"}
            for i, c in enumerate(reply.tool_calls)
        ]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": reply.effective_finish_reason}
        ],
        "usage": usage,
    }


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _stream_deltas(reply: Reply) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"reasoning_content": p} for p in _pieces(reply.reasoning or "", reply.chunk_size)]
    deltas += [{"content": p} for p in _pieces(reply.content, reply.chunk_size)]
    for index, call in enumerate(reply.tool_calls):
        head = _tool_call_json(call, index)
        arguments = head["function"]["arguments"]
        head["function"]["arguments"] = ""
        deltas.append({"tool_calls": [head]})
        for piece in _pieces(arguments, reply.chunk_size * 2):
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    return deltas


def _sse(payload: dict[str, Any] | str) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


async def _stream_body(
    reply: Reply, model: str, usage: dict[str, Any], include_usage: bool
) -> AsyncIterator[bytes]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    # The first delta only announces the role, so ``cut_after`` counts the ones after it.
    for sent, delta in enumerate(_stream_deltas(reply)):
        if reply.cut_after is not None and sent > reply.cut_after:
            break
        yield _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        await asyncio.sleep(0)
    if reply.cut_after is not None:
        raise _StreamCut()
    finish = {"index": 0, "delta": {}, "finish_reason": reply.effective_finish_reason}
    yield _sse({**base, "choices": [finish]})
    if include_usage:
        yield _sse({**base, "choices": [], "usage": usage})
    yield _sse("[DONE]")


def _error(status: int, message: str, retry_after: float | None = None) -> JSONResponse:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
    kind = "rate_limit_error" if status == 429 else "server_error"
    body = {"error": {"message": message, "type": kind, "code": str(status)}}
    return JSONResponse(body, status_code=status, headers=headers)


class ScriptedModelServer:
    """An OpenAI-compatible server on 127.0.0.1 answering from a script. See the module docstring.

    ``api_key``, when given, is required as ``Authorization: Bearer <key>`` (to test stored keys).
    """

    def __init__(
        self,
        replies: list[Reply] | None = None,
        *,
        handler: Handler | None = None,
        models: tuple[str, ...] | list[str] = DEFAULT_MODELS,
        api_key: str | None = None,
        port: int = 0,
        embedding_dim: int = 256,
    ) -> None:
        self._script = _Script(handler)
        self._script.replies.extend(replies or [])
        self.models = list(models)
        self.api_key = api_key
        self.embedding_dim = embedding_dim
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.app = self._build_app()

    # -- scripting ---------------------------------------------------------------------------

    def push(self, *replies: Reply | str) -> None:
        """Queue replies; strings become plain text answers."""
        with self._script.lock:
            for reply in replies:
                self._script.replies.append(
                    Reply(content=reply) if isinstance(reply, str) else reply
                )

    @property
    def pending(self) -> int:
        with self._script.lock:
            return len(self._script.replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._script.lock:
            return list(self._script.requests)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of every chat completion request received, oldest first."""
        return [r.body for r in self.requests if r.path.endswith("/chat/completions")]

    def reset(self) -> None:
        with self._script.lock:
            self._script.replies.clear()
            self._script.requests.clear()
            self._script.prompts.clear()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the scripted server is not started; use start() or `with`")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What an OpenAI client takes as ``base_url``."""
        return f"{self.url}/v1"

    def start(self) -> ScriptedModelServer:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", self._port))
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        sockets = [self._socket]
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": sockets}, daemon=True
        )
        self._thread.start()
        self._wait_started()
        return self

    def _wait_started(self) -> None:
        deadline = time.monotonic() + 10
        while self._server is not None and not self._server.started:
            if time.monotonic() > deadline or not (self._thread and self._thread.is_alive()):
                raise RuntimeError("the scripted model server did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = None

    def serve_forever(self, *, log_level: str = "info") -> None:
        """Run in the calling thread until interrupted (for ``shuzhi models scripted-server``)."""
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self._port,
            log_level=log_level,
            access_log=False,
            timeout_keep_alive=30,
        )
        uvicorn.Server(config).run()

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- HTTP --------------------------------------------------------------------------------

    def _build_app(self) -> Starlette:
        routes = [
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/embeddings", self._embeddings, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
        ]
        return Starlette(routes=routes)

    def _authorised(self, request: Request) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("authorization", "") == f"Bearer {self.api_key}"

    async def _record(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(await request.body() or b"{}")
        recorded = RecordedRequest(request.url.path, dict(request.headers), body)
        with self._script.lock:
            self._script.requests.append(recorded)
        return body

    async def _chat(self, request: Request) -> Response:
        body = await self._record(request)
        if not self._authorised(request):
            return _error(401, "invalid api key")
        reply = self._script.next_reply(body)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status is not None:
            return _error(reply.status, f"scripted failure {reply.status}", reply.retry_after)
        prompt = _prompt_text(body)
        usage = _usage(reply, prompt, self._script.cache_hit_tokens(prompt))
        model = str(body.get("model", "scripted"))
        if not body.get("stream"):
            return JSONResponse(_completion(reply, model, usage))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        stream = _stream_body(reply, model, usage, include_usage)
        return StreamingResponse(stream, media_type="text/event-stream")

    async def _embeddings(self, request: Request) -> Response:
        body = await self._record(request)
        if not self._authorised(request):
            return _error(401, "invalid api key")
        raw = body.get("input", [])
        texts = [raw] if isinstance(raw, str) else [str(t) for t in raw]
        as_base64 = body.get("encoding_format") == "base64"
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": encode_vector(hashed_embedding(t, self.embedding_dim), as_base64),
            }
            for i, t in enumerate(texts)
        ]
        tokens = sum(count_tokens(t) for t in texts)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        model = body.get("model", "scripted-embedding")
        return JSONResponse({"object": "list", "data": data, "model": model, "usage": usage})

    async def _models(self, request: Request) -> Response:
        await self._record(request)
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "scripted"} for m in self.models
        ]
        return JSONResponse({"object": "list", "data": data})
