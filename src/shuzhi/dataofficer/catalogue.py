"""Catalogue entries (数据目录) drafted from a profile; a person confirms every one.

The sharing attribute follows the three classes of the Interim Measures for the Administration of
Government Information Resource Sharing (国发〔2016〕51号): unconditionally shared, conditionally
shared, not shared. Offline the draft is assembled from the profile by rules; a ``CatalogueDrafter``
(a model behind the gateway) may write the title, description and field meanings instead, and the
entry then records that model.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from shuzhi.dataofficer.profile import DatasetProfile
from shuzhi.dataofficer.sensitive import Grade, kind_label
from shuzhi.errors import ModelError

log = logging.getLogger(__name__)

SHARING = {
    "unconditional": "无条件共享",
    "conditional": "有条件共享",
    "none": "不予共享",
}
UPDATE_CYCLES = ("实时", "每日", "每周", "每月", "每季度", "每年", "不定期")
TYPE_LABELS = {
    "integer": "整数",
    "decimal": "数值",
    "date": "日期",
    "datetime": "日期时间",
    "boolean": "布尔",
    "text": "文本",
    "empty": "空列",
}


@dataclass
class CatalogueDraft:
    title: str
    description: str
    department: str
    update_cycle: str
    sharing: str
    fields: list[dict[str, Any]]
    reasons: list[str] = field(default_factory=list)
    mode: str = "offline"
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CatalogueDrafter(Protocol):
    """Writes a title, description and field meanings from a profile summary (no raw values)."""

    @property
    def model(self) -> str: ...

    def draft(self, summary: str) -> dict[str, Any]: ...


def draft_entry(
    name: str,
    profile: DatasetProfile,
    grades: dict[str, str],
    *,
    title: str = "",
    department: str = "",
    groups: dict[str, str] | None = None,
    drafter: CatalogueDrafter | None = None,
) -> CatalogueDraft:
    """A catalogue entry for a profiled dataset; ``grades`` maps columns to their grade."""
    fields = [
        _field(c.name, c.inferred_type, c.pii_kind, grades, groups or {}) for c in profile.columns
    ]
    sharing, reason = propose_sharing(grades)
    draft = CatalogueDraft(
        title=title or name,
        description=_description(profile, fields),
        department=department,
        update_cycle="不定期",
        sharing=sharing,
        fields=fields,
        reasons=[reason, "更新周期无法从数据判断，默认“不定期”，请按实际填写"],
    )
    if drafter is not None:
        try:
            _apply_model(draft, drafter, summary(name, profile, fields))
        except ModelError as exc:
            log.warning("catalogue draft fell back to offline: %s", exc.code)
            draft.reasons.append("模型服务不可用，本草稿由规则离线生成")
    return draft


def _field(
    name: str, kind_type: str, kind: str | None, grades: dict[str, str], groups: dict[str, str]
) -> dict[str, Any]:
    meaning = kind_label(kind) if kind else ""
    if name in groups:
        meaning = f"{groups[name]}：{meaning}" if meaning else groups[name]
    return {
        "name": name,
        "type": TYPE_LABELS.get(kind_type, kind_type),
        "meaning": meaning,
        "grade": grades.get(name, Grade.GENERAL.value),
    }


def propose_sharing(grades: dict[str, str]) -> tuple[str, str]:
    ranks = [Grade(g).rank for g in grades.values()] or [0]
    top = max(ranks)
    if top >= Grade.CORE.rank:
        return "none", "含核心数据字段，建议不予共享"
    if top >= Grade.IMPORTANT.rank:
        return "conditional", "含重要数据或个人信息字段，建议有条件共享（申请方说明用途，脱敏提供）"
    return "unconditional", "字段均为一般数据，建议无条件共享"


def _description(profile: DatasetProfile, fields: list[dict[str, Any]]) -> str:
    names = "、".join(f["name"] for f in fields[:12])
    more = f"等 {len(fields)} 个字段" if len(fields) > 12 else f"共 {len(fields)} 个字段"
    personal = [f["name"] for f in fields if f["grade"] != Grade.GENERAL.value]
    text = f"共 {profile.rows} 行。包含 {names}{more}。"
    if personal:
        text += f"其中 {'、'.join(personal)} 含个人信息或敏感信息，按分级脱敏后使用。"
    return text


def summary(name: str, profile: DatasetProfile, fields: list[dict[str, Any]]) -> str:
    """What a model may see: names, types, kinds and counts; never a value from the data."""
    lines = [f"数据集 {name}，{profile.rows} 行。字段："]
    for f in fields:
        lines.append(f"- {f['name']}（{f['type']}）{f['meaning']}")
    return "\n".join(lines)


def _apply_model(draft: CatalogueDraft, drafter: CatalogueDrafter, text: str) -> None:
    proposed = drafter.draft(text)
    draft.title = str(proposed.get("title") or draft.title)[:200]
    draft.description = str(proposed.get("description") or draft.description)
    meanings = proposed.get("fields") or {}
    if isinstance(meanings, dict):
        for f in draft.fields:
            if isinstance(meanings.get(f["name"]), str):
                f["meaning"] = meanings[f["name"]][:500]
    cycle = proposed.get("update_cycle")
    if cycle in UPDATE_CYCLES:
        draft.update_cycle = cycle
    draft.mode, draft.model = "model", drafter.model
