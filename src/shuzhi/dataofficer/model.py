"""The model's part: drafting SQL for a question and catalogue text, through the gateway.

The model only ever sees table and column names, types and detected kinds, never a value from
the data; whatever it writes is checked like any other SQL (``guard``) or confirmed by a person
(catalogue entries). The gateway masks the question itself before it leaves the trust zone.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shuzhi.errors import ModelError
from shuzhi.gateway import Caller, ChatRequest, Gateway

SQL_PROMPT = (
    "你是政务数据官的 SQL 助手。只根据给出的表结构，为问题写一条 DuckDB 的只读 SELECT 语句。"
    "只输出 SQL，不要解释，不要使用未列出的表或列。"
)
CATALOGUE_PROMPT = (
    "你是政务数据目录编目员。根据数据集的字段说明，输出 JSON："
    '{"title": 标题, "description": 一句话说明, '
    '"update_cycle": 实时/每日/每周/每月/每季度/每年/不定期, "fields": {列名: 含义}}。只输出 JSON。'
)
_FENCE = re.compile(r"```(?:sql|json)?\s*(.*?)```", re.S | re.I)


def _unfenced(text: str) -> str:
    found = _FENCE.search(text)
    return (found.group(1) if found else text).strip()


class GatewaySqlDrafter:
    """A ``SqlDrafter`` that asks the gateway's default chat model."""

    def __init__(self, gateway: Gateway, *, model: str | None = None, caller: Caller) -> None:
        self.gateway, self.alias, self.caller = gateway, model, caller
        self.model = model or "gateway"

    def draft(self, question: str, schema: str) -> str:
        result = self.gateway.chat_sync(
            ChatRequest(
                messages=[
                    {"role": "system", "content": SQL_PROMPT},
                    {"role": "user", "content": f"表结构：\n{schema}\n\n问题：{question}"},
                ],
                model=self.alias,
                temperature=0,
                caller=self.caller,
            )
        )
        self.model = result.model
        return _unfenced(result.content)


class GatewayCatalogueDrafter:
    """A ``CatalogueDrafter`` that asks the gateway for a title, description and meanings."""

    def __init__(self, gateway: Gateway, *, model: str | None = None, caller: Caller) -> None:
        self.gateway, self.alias, self.caller = gateway, model, caller
        self.model = model or "gateway"

    def draft(self, summary: str) -> dict[str, Any]:
        result = self.gateway.chat_sync(
            ChatRequest(
                messages=[
                    {"role": "system", "content": CATALOGUE_PROMPT},
                    {"role": "user", "content": summary},
                ],
                model=self.alias,
                temperature=0,
                caller=self.caller,
            )
        )
        self.model = result.model
        try:
            proposed = json.loads(_unfenced(result.content))
        except json.JSONDecodeError as exc:
            raise ModelError(
                "模型返回的目录草稿不是 JSON", hint="可重试，或不用模型直接生成离线草稿"
            ) from exc
        if not isinstance(proposed, dict):
            raise ModelError("模型返回的目录草稿格式不对", hint="可重试，或使用离线草稿")
        return proposed


def drafters(
    gateway: Gateway | None, caller: Caller
) -> tuple[GatewaySqlDrafter | None, GatewayCatalogueDrafter | None]:
    """Both drafters when a chat endpoint is configured, else ``(None, None)``: work offline."""
    if gateway is None or not gateway.available():
        return None, None
    return GatewaySqlDrafter(gateway, caller=caller), GatewayCatalogueDrafter(
        gateway, caller=caller
    )
