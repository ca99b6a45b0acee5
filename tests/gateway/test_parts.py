"""The gateway's parts on their own: stream unmasking, limits, prompt order, errors, keys."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import httpx2
import openai
import pytest

from shuzhi.config import Settings
from shuzhi.errors import ConfigError
from shuzhi.gateway import assemble
from shuzhi.gateway.catalog import AliasConfig, Catalog, EndpointConfig
from shuzhi.gateway.keys import decrypt_api_key, encrypt_api_key, secret_key
from shuzhi.gateway.limits import EndpointLimiter
from shuzhi.gateway.masking import StreamUnmasker, mask_messages
from shuzhi.gateway.types import Usage
from shuzhi.gateway.upstream import clean_messages, translate
from shuzhi.gateway.usage import cost_of
from shuzhi.privacy import Masker, Vault

PHONE = "13812345678"


def _masked(text: str) -> tuple[str, Vault]:
    return Masker().mask(text)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_stream_unmasker_restores_placeholders_split_anywhere(size: int) -> None:
    masked, vault = _masked(f"请拨打 {PHONE} 或发邮件 li.si@example.com（工作日）")
    unmasker = StreamUnmasker(vault)
    pieces = [masked[i : i + size] for i in range(0, len(masked), size)]
    out = [unmasker.feed(p) for p in pieces] + [unmasker.flush()]
    assert "".join(out) == f"请拨打 {PHONE} 或发邮件 li.si@example.com（工作日）"
    assert not any("〔" in piece for piece in out)


def test_stream_unmasker_does_not_hold_ordinary_brackets_for_long() -> None:
    _, vault = _masked(f"电话 {PHONE}")
    unmasker = StreamUnmasker(vault)
    first = unmasker.feed("见附件（")
    later = unmasker.feed("这是一个很长的括号说明，显然不是占位符，应当尽快放行给用户看")
    assert first == "见附件"
    assert later.startswith("（这是一个很长")
    assert StreamUnmasker(None).feed("〔手机") == "〔手机"


def test_mask_messages_covers_parts_and_tool_arguments() -> None:
    messages = [
        {"role": "user", "content": [{"type": "text", "text": f"电话 {PHONE}"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "f", "arguments": f'{{"phone": "{PHONE}"}}'}}]},
    ]  # fmt: skip
    masked = mask_messages(Masker(), messages, None)
    assert PHONE not in str(masked.messages)
    assert masked.count == 2 and len(masked.vault) == 1
    assert PHONE in str(messages)  # the caller's messages are left as they were


def test_limiter_caps_concurrency_and_requests_per_minute() -> None:
    async def scenario() -> tuple[int, bool]:
        limiter = EndpointLimiter(max_concurrency=2, rpm_limit=3)
        inside, peak = 0, 0

        async def call() -> None:
            nonlocal inside, peak
            async with limiter.slot():
                inside += 1
                peak = max(peak, inside)
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.gather(*(call() for _ in range(6)))
        for _ in range(3):
            await limiter.admit()
        try:
            await asyncio.wait_for(limiter.admit(), timeout=0.05)
        except TimeoutError:
            return peak, True
        return peak, False

    peak, fourth_waited = asyncio.run(scenario())
    assert peak == 2 and fourth_waited


def test_assemble_keeps_the_stable_prefix_identical() -> None:
    common = {
        "system": "你是济南市12345热线助手。",
        "skills": ["查询办事指南"],
        "preamble": "依据条例答复。",
    }
    history = [{"role": "user", "content": "问一"},
               {"role": "assistant", "content": "答一", "reasoning_content": "推理"}]  # fmt: skip
    first = assemble(**common, history=history, question="问二", context=["材料甲"])
    second = assemble(**common, question="完全不同的问题", context=["材料乙"])
    assert first[0] == second[0]
    assert first[0]["content"].startswith("你是济南市12345热线助手。")
    assert "reasoning_content" not in first[2]
    assert first[-1]["content"].endswith("问题：问二") and "材料甲" in first[-1]["content"]


def test_clean_messages_drops_reasoning_and_unknown_fields() -> None:
    cleaned = clean_messages(
        [{"role": "assistant", "content": "答", "reasoning_content": "想", "ui_id": 7}]
    )
    assert cleaned == [{"role": "assistant", "content": "答"}]


def _status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://model/v1/chat/completions")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    return openai.APIStatusError("failed", response=response, body=None)


def test_translate_sorts_retryable_from_final_failures() -> None:
    limited = translate(_status_error(429, {"retry-after": "3"}))
    assert (limited.retryable, limited.retry_after, limited.status) == (True, 3.0, 429)
    assert translate(_status_error(503)).retryable
    assert not translate(_status_error(401)).retryable
    assert not translate(_status_error(400)).retryable
    request = httpx2.Request("POST", "http://model")
    assert translate(openai.APITimeoutError(request=request)).retryable
    with pytest.raises(ZeroDivisionError):
        translate(ZeroDivisionError())


def test_cost_counts_cache_hits_at_their_price() -> None:
    endpoint = EndpointConfig("e", "http://x", "m", price_input=4, price_cached_input=1,
                              price_output=16)  # fmt: skip
    usage = Usage(prompt_tokens=2_000_000, cached_tokens=1_000_000, completion_tokens=500_000)
    assert cost_of(usage, endpoint) == pytest.approx(4 + 1 + 8)


def test_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=None)
    first, second = secret_key(settings), secret_key(settings)
    assert first == second and len(first) > 40
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    token = encrypt_api_key(settings, "sk-abc")
    assert decrypt_api_key(settings, token, "e") == "sk-abc"
    with pytest.raises(ConfigError) as caught:
        decrypt_api_key(Settings(data_dir=tmp_path, secret_key="other"), token, "e")
    assert "shuzhi models update e" in str(caught.value)


def test_database_aliases_win_over_environment_defaults() -> None:
    env = AliasConfig("gov-chat", "chat", ("env-chat",), is_default=True, source="env")
    stored = AliasConfig("city-chat", "chat", ("city",), is_default=True)
    catalog = Catalog({}, {"gov-chat": env, "city-chat": stored})
    assert catalog.default_alias("chat") == stored
    assert catalog.default_alias("embedding") is None
