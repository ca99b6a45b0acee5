"""The gateway: resolve a model name to a fallback chain, mask, call with retries, unmask, meter.

Each public call follows the same steps::

    route (alias → endpoints)  →  for each endpoint: mask if it is outside the trust zone
    →  call with retries and backoff (429 / 5xx / timeouts / broken streams)  →  unmask
    →  record one usage row  →  answer, or ModelError once every endpoint has failed
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from shuzhi.config import Settings
from shuzhi.errors import ModelError, NoModelConfigured, NotFound
from shuzhi.gateway import registry
from shuzhi.gateway.catalog import Catalog, EndpointConfig, ModelBaseSettings, load_catalog
from shuzhi.gateway.limits import EndpointLimiter
from shuzhi.gateway.masking import Masker, Vault, mask_messages, unmask
from shuzhi.gateway.streaming import StreamState
from shuzhi.gateway.types import (
    Caller,
    ChatChunk,
    ChatRequest,
    ChatResult,
    EmbedResult,
    Usage,
)
from shuzhi.gateway.upstream import (
    ClientPool,
    Completion,
    EndpointFailure,
    chat_body,
    clean_messages,
    parse_completion,
    translate,
)
from shuzhi.gateway.usage import UsageRecord, UsageWriter, cost_of, usage_from
from shuzhi.privacy import default_masker
from shuzhi.storage.db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_MODEL_HINT = (
    "设置 SHUZHI_MODEL_BASE_URL、SHUZHI_MODEL_NAME、SHUZHI_MODEL_API_KEY 三个环境变量，"
    "或运行 `shuzhi models add` 添加模型服务"
)


@dataclass(frozen=True)
class Route:
    alias: str | None
    endpoints: list[EndpointConfig]


@dataclass
class _Outcome:
    """What happened across the chain, for the usage row and the final error message."""

    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.perf_counter)
    attempts: int = 0
    upstream_ms: float = 0.0
    errors: list[str] = field(default_factory=list)

    async def timed(self, awaitable: Awaitable[T]) -> T:
        """Await an endpoint, adding the wait to ``upstream_ms`` (the rest is the gateway's)."""
        start = time.perf_counter()
        try:
            return await awaitable
        finally:
            self.upstream_ms += (time.perf_counter() - start) * 1000

    @property
    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


class Gateway:
    """Every model call in shuzhi goes through one of these. Safe to share within a process.

    ``backoff_base`` (seconds) doubles with each retry on the same endpoint; a ``Retry-After``
    longer than ``retry_after_max`` moves on to the next endpoint instead of waiting.
    ``config_ttl`` is how long the endpoint catalog is cached (changes made through
    :mod:`shuzhi.gateway.registry` in this process apply at once).
    """

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        masker: Masker | None = None,
        config_ttl: float = 5.0,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        retry_after_max: float = 30.0,
    ) -> None:
        self.db = db
        self.settings = settings
        self.masker = masker or _configured_masker()
        self.config_ttl = config_ttl
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._clients = ClientPool()
        self._limiters: dict[tuple[Any, ...], EndpointLimiter] = {}
        self._catalog: Catalog | None = None
        self._catalog_at = 0.0
        self._catalog_version = -1
        self._sync_loop: _LoopThread | None = None
        self._usage = UsageWriter(db)

    # -- catalog and routing -----------------------------------------------------------------

    def catalog(self) -> Catalog:
        expired = time.monotonic() - self._catalog_at > self.config_ttl
        if self._catalog is None or expired or self._catalog_version != registry.catalog_version:
            with self.db.session() as session:
                self._catalog_version = registry.catalog_version
                self._catalog = load_catalog(session, self.settings)
            self._catalog_at = time.monotonic()
        return self._catalog

    def refresh(self) -> None:
        self._catalog = None

    def available(self, kind: str = "chat") -> bool:
        """True when an enabled endpoint can serve ``kind`` (chat / reasoning / embedding)."""
        return bool(self.catalog().enabled(kind))

    def route(self, model: str | None, kind: str = "chat") -> Route:
        catalog = self.catalog()
        if not catalog.enabled(kind):
            raise NoModelConfigured(f"尚未配置可用的{_KIND_ZH[kind]}模型服务", hint=NO_MODEL_HINT)
        if model is None:
            return _default_route(catalog, kind)
        if model in catalog.aliases:
            alias = catalog.aliases[model]
            chain = [catalog.endpoints[n] for n in alias.endpoints if n in catalog.endpoints]
            return Route(alias.name, _usable(chain, kind, model))
        if model in catalog.endpoints:
            return Route(None, _usable([catalog.endpoints[model]], kind, model))
        by_vendor_name = [e for e in catalog.enabled(kind) if e.model == model]
        if by_vendor_name:
            return Route(None, by_vendor_name)
        names = sorted([*catalog.aliases, *catalog.endpoints])
        raise NotFound(f"没有名为 {model} 的模型", hint=f"可用的模型：{'、'.join(names)}")

    # -- chat --------------------------------------------------------------------------------

    async def chat(self, request: ChatRequest) -> ChatResult:
        """One answer, trying the route's endpoints in order. Raises ModelError when all fail."""
        route = self.route(request.model, "chat")
        outcome = _Outcome()
        messages = clean_messages(request.messages)
        for endpoint in route.endpoints:
            masked, vault, count = self._outbound(endpoint, messages, request.vault)
            body = chat_body(request, endpoint, masked, stream=False)
            try:
                completion = await self._with_retries(endpoint, outcome, self._complete, body)
            except EndpointFailure as failure:
                outcome.errors.append(f"{endpoint.name}：{failure.message}")
                continue
            result = self._result(route, endpoint, completion, vault, count, outcome)
            self._record(_ok_record(route, endpoint, result, outcome, request.caller))
            return result
        raise await self._all_failed(route, outcome, request.caller, stream=False)

    async def _complete(self, endpoint: EndpointConfig, body: dict[str, Any]) -> Completion:
        client = self._clients.get(endpoint)
        return parse_completion(await client.chat.completions.create(**body))

    def _result(
        self,
        route: Route,
        endpoint: EndpointConfig,
        completion: Completion,
        vault: Vault | None,
        masked_count: int,
        outcome: _Outcome,
    ) -> ChatResult:
        usage = usage_from(completion.usage)
        calls = [
            replace(c, arguments=unmask(vault, c.arguments) or "") for c in completion.tool_calls
        ]
        return ChatResult(
            content=unmask(vault, completion.content) or "",
            reasoning=unmask(vault, completion.reasoning),
            tool_calls=calls,
            finish_reason=completion.finish_reason,
            endpoint=endpoint.name,
            model=completion.model or endpoint.model,
            alias=route.alias,
            usage=usage,
            cost=cost_of(usage, endpoint),
            currency=endpoint.currency,
            masked_count=masked_count,
            latency_ms=outcome.elapsed_ms,
            request_id=outcome.request_id,
            attempts=outcome.attempts,
            upstream_ms=outcome.upstream_ms,
        )

    # -- streaming ---------------------------------------------------------------------------

    async def stream(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """The answer in pieces; the last chunk carries ``result``. See ChatChunk.reset.

        A caller that stops reading early (a closed browser tab) still leaves a usage row, with
        the outcome ``cancelled``.
        """
        route = self.route(request.model, "chat")
        outcome = _Outcome()
        try:
            async for chunk in self._stream_chain(route, request, outcome):
                yield chunk
        except (GeneratorExit, asyncio.CancelledError):
            record = UsageRecord(outcome.request_id, "chat", route.alias, request.caller)
            record.outcome, record.stream = "cancelled", True
            record.latency_ms, record.attempts = outcome.elapsed_ms, outcome.attempts
            self._record(record)
            raise

    async def _stream_chain(
        self, route: Route, request: ChatRequest, outcome: _Outcome
    ) -> AsyncIterator[ChatChunk]:
        messages = clean_messages(request.messages)
        reset = False
        for endpoint in route.endpoints:
            masked, vault, count = self._outbound(endpoint, messages, request.vault)
            state = StreamState(vault)
            try:
                async for chunk in self._stream_endpoint(endpoint, request, masked, state, outcome):
                    if reset:
                        yield ChatChunk(reset=True, endpoint=endpoint.name)
                        reset = False
                    yield chunk
            except EndpointFailure as failure:
                outcome.errors.append(f"{endpoint.name}：{failure.message}")
                reset = reset or state.emitted
                continue
            if reset:
                yield ChatChunk(reset=True, endpoint=endpoint.name)
            yield self._finish_stream(route, endpoint, state, count, outcome, request.caller)
            return
        raise await self._all_failed(route, outcome, request.caller, stream=True)

    async def _stream_endpoint(
        self,
        endpoint: EndpointConfig,
        request: ChatRequest,
        messages: list[dict[str, Any]],
        state: StreamState,
        outcome: _Outcome,
    ) -> AsyncIterator[ChatChunk]:
        body = chat_body(request, endpoint, messages, stream=True)
        async with self._limiter(endpoint).slot():
            upstream = await self._with_retries(
                endpoint, outcome, self._open_stream, body, hold=False
            )
            try:
                while (raw := await outcome.timed(anext(upstream, None))) is not None:
                    chunk = state.take(raw)
                    if chunk is not None:
                        chunk.endpoint = endpoint.name
                        yield chunk
            except Exception as exc:
                raise translate(exc) from exc
            finally:
                await upstream.close()
        if state.finish_reason is None:
            raise EndpointFailure("流式回答中断（没有收到结束标记）", retryable=True)

    async def _open_stream(self, endpoint: EndpointConfig, body: dict[str, Any]) -> Any:
        return await self._clients.get(endpoint).chat.completions.create(**body)

    def _finish_stream(
        self,
        route: Route,
        endpoint: EndpointConfig,
        state: StreamState,
        masked_count: int,
        outcome: _Outcome,
        caller: Caller,
    ) -> ChatChunk:
        last = state.flush()
        completion = Completion(
            content=state.text,
            reasoning=state.reasoning_text,
            tool_calls=state.tool_calls(),
            finish_reason=state.finish_reason or "stop",
            model=state.model,
            usage=state.usage,
        )
        result = self._result(route, endpoint, completion, None, masked_count, outcome)
        record = _ok_record(route, endpoint, result, outcome, caller)
        record.stream, record.first_token_ms = True, state.first_token_ms
        self._record(record)
        last.finish_reason, last.endpoint, last.result = result.finish_reason, endpoint.name, result
        return last

    # -- embeddings --------------------------------------------------------------------------

    async def embed(
        self, texts: list[str], *, model: str | None = None, caller: Caller | None = None
    ) -> EmbedResult:
        """Vectors for ``texts``, through the embedding alias or endpoint named ``model``."""
        caller = caller or Caller()
        route = self.route(model, "embedding")
        outcome = _Outcome()
        for endpoint in route.endpoints:
            outbound = texts
            if endpoint.mask:
                outbound = [self.masker.mask(t, None)[0] for t in texts]
            try:
                raw = await self._with_retries(endpoint, outcome, self._embed, outbound)
            except EndpointFailure as failure:
                outcome.errors.append(f"{endpoint.name}：{failure.message}")
                continue
            return await self._embed_result(route, endpoint, raw, outcome, caller)
        raise await self._all_failed(route, outcome, caller, stream=False, operation="embedding")

    async def _embed(self, endpoint: EndpointConfig, texts: list[str]) -> Any:
        client = self._clients.get(endpoint)
        return await client.embeddings.create(model=endpoint.model, input=texts)

    async def _embed_result(
        self, route: Route, endpoint: EndpointConfig, raw: Any, outcome: _Outcome, caller: Caller
    ) -> EmbedResult:
        vectors = [list(item.embedding) for item in sorted(raw.data, key=lambda d: d.index)]
        usage = Usage(prompt_tokens=int(getattr(raw.usage, "prompt_tokens", 0) or 0))
        record = UsageRecord(
            outcome.request_id, "embedding", route.alias, caller, endpoint, raw.model, usage
        )
        record.latency_ms, record.attempts = outcome.elapsed_ms, outcome.attempts
        self._record(record)
        return EmbedResult(
            vectors, endpoint.name, raw.model or endpoint.model, route.alias, usage,
            cost_of(usage, endpoint), outcome.request_id,
        )  # fmt: skip

    # -- shared steps ------------------------------------------------------------------------

    def _outbound(
        self, endpoint: EndpointConfig, messages: list[dict[str, Any]], vault: Vault | None
    ) -> tuple[list[dict[str, Any]], Vault | None, int]:
        """The messages as this endpoint may receive them (masked outside the trust zone)."""
        if not endpoint.mask:
            return messages, None, 0
        masked = mask_messages(self.masker, messages, vault)
        return masked.messages, masked.vault, masked.count

    def _limiter(self, endpoint: EndpointConfig) -> EndpointLimiter:
        loop = asyncio.get_running_loop()
        key = (id(loop), endpoint.name, endpoint.max_concurrency, endpoint.rpm_limit)
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = EndpointLimiter(
                endpoint.max_concurrency, endpoint.rpm_limit
            )
        return limiter

    async def _with_retries(
        self,
        endpoint: EndpointConfig,
        outcome: _Outcome,
        call: Callable[[EndpointConfig, Any], Awaitable[T]],
        argument: Any,
        *,
        hold: bool = True,
    ) -> T:
        """Call, retrying retryable failures with backoff; ``hold`` takes a concurrency slot."""
        limiter = self._limiter(endpoint)
        for attempt in range(1, endpoint.max_retries + 2):
            outcome.attempts += 1
            try:
                await limiter.admit()
                if not hold:
                    return await outcome.timed(call(endpoint, argument))
                async with limiter.slot():
                    return await outcome.timed(call(endpoint, argument))
            except Exception as exc:
                failure = translate(exc)
            delay = self._delay(attempt, failure)
            if not failure.retryable or attempt > endpoint.max_retries or delay is None:
                raise failure
            log.info("retrying %s in %.2fs after: %s", endpoint.name, delay, failure.message)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, attempt: int, failure: EndpointFailure) -> float | None:
        if failure.retry_after is not None:
            return failure.retry_after if failure.retry_after <= self.retry_after_max else None
        backoff: float = min(self.backoff_max, self.backoff_base * 2.0 ** (attempt - 1))
        return backoff * random.uniform(0.5, 1.0)

    def _record(self, record: UsageRecord) -> None:
        log.info(
            "model call %s endpoint=%s outcome=%s attempts=%d latency=%.1fms tokens=%d",
            record.operation,
            record.endpoint.name if record.endpoint else "-",
            record.outcome,
            record.attempts,
            record.latency_ms,
            record.usage.total_tokens,
        )
        self._usage.submit(record)

    def flush_usage(self, timeout: float = 30.0) -> bool:
        """Wait until every usage record so far is stored (they are written in the background)."""
        return self._usage.flush(timeout)

    async def _all_failed(
        self,
        route: Route,
        outcome: _Outcome,
        caller: Caller,
        *,
        stream: bool,
        operation: str = "chat",
    ) -> ModelError:
        detail = "；".join(outcome.errors)
        record = UsageRecord(outcome.request_id, operation, route.alias, caller)
        record.outcome, record.error, record.stream = "failed", detail, stream
        record.latency_ms, record.attempts = outcome.elapsed_ms, outcome.attempts
        self._record(record)
        # The failure is on record before the caller hears of it.
        await asyncio.to_thread(self._usage.flush)
        name = route.alias or (route.endpoints[0].name if route.endpoints else "模型")
        return ModelError(
            f"{name} 的所有模型服务均调用失败：{detail}",
            hint="稍后重试；若持续失败，请检查 `shuzhi models test` 的结果或联系运维",
            request_id=outcome.request_id,
        )

    # -- sync conveniences -------------------------------------------------------------------

    def chat_sync(self, request: ChatRequest) -> ChatResult:
        """``chat`` for code that is not async (jobs, scripts, the CLI)."""
        return self._run(self.chat(request))

    def embed_sync(
        self, texts: list[str], *, model: str | None = None, caller: Caller | None = None
    ) -> EmbedResult:
        return self._run(self.embed(texts, model=model, caller=caller))

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._sync_loop is None:
            self._sync_loop = _LoopThread()
        return self._sync_loop.run(coroutine)

    async def aclose(self) -> None:
        """Close this loop's connections and store pending usage records."""
        await self._clients.close_loop_clients()
        await asyncio.to_thread(self._usage.flush)

    def close(self) -> None:
        """Store pending usage records and release connections."""
        self._usage.close()
        if self._sync_loop is not None:
            self._sync_loop.run(self._clients.close_loop_clients())
            self._sync_loop.stop()
            self._sync_loop = None


class _LoopThread:
    """An event loop in a daemon thread, so sync callers share pooled connections."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def _configured_masker() -> Masker:
    patterns = ModelBaseSettings().mask_patterns
    return Masker(extra_patterns=patterns) if patterns else default_masker()


_KIND_ZH = {"chat": "对话", "reasoning": "推理", "embedding": "向量"}


def _default_route(catalog: Catalog, kind: str) -> Route:
    alias = catalog.default_alias(kind)
    if alias is not None:
        chain = [catalog.endpoints[n] for n in alias.endpoints if n in catalog.endpoints]
        usable = [e for e in chain if e.enabled]
        if usable:
            return Route(alias.name, usable)
    return Route(None, catalog.enabled(kind)[:1])


def _usable(chain: list[EndpointConfig], kind: str, name: str) -> list[EndpointConfig]:
    usable = [e for e in chain if e.enabled and e.serves(kind)]
    if not usable:
        raise ModelError(
            f"{name} 没有已启用的{_KIND_ZH[kind]}模型服务",
            hint=f"启用 {name} 回退链中的服务，或改用其他模型",
        )
    return usable


def _ok_record(
    route: Route, endpoint: EndpointConfig, result: ChatResult, outcome: _Outcome, caller: Caller
) -> UsageRecord:
    record = UsageRecord(
        outcome.request_id, "chat", route.alias, caller, endpoint, result.model, result.usage
    )
    record.latency_ms, record.masked_items = result.latency_ms, result.masked_count
    record.attempts = outcome.attempts
    return record
