"""The batch's files: an Excel workbook, a JSON Lines file and a standalone HTML report.

Every file carries the AI-content labels (标识办法 Art. 4 and 5, GB 45438-2025): the visible
label in the workbook's first sheet and at the top of the report, the implicit label in the
workbook's custom document properties, in the report's ``<meta>`` and on each JSON line.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.packaging.custom import StringProperty

from shuzhi.aigc import ImplicitLabel, Mode, new_content_id, visible_label
from shuzhi.cn.clock import ZONE_ZH, local_time
from shuzhi.exports import sheet_row
from shuzhi.scenarios.hotline.batch import BatchResult

ORDER_COLUMNS = [
    ("code", "工单编号"),
    ("source_row", "源文件行号"),
    ("source_ref", "原编号"),
    ("received_at", f"受理时间({ZONE_ZH})"),
    ("requester", "来电人(脱敏)"),
    ("title", "标题"),
    ("text", "内容(脱敏)"),
    ("category", "分类"),
    ("category_path", "分类路径(细类为关键词建议)"),
    ("handling_unit", "承办单位"),
    ("confidence", "置信度"),
    ("status", "状态"),
    ("decided_by", "决定方"),
    ("reviewer", "复核人"),
    ("review_result", "复核结果"),
    ("decided_at", f"复核时间({ZONE_ZH})"),
    ("order_type", "诉求类型"),
    ("urgency", "紧急程度"),
    ("deadline", "办理期限"),
    ("deadline_basis", "期限依据"),
    ("place", "地点"),
    ("demands", "诉求要点"),
    ("mode", "生成方式"),
    ("model", "模型"),
    ("label", "原分类(如有)"),
]
# The console's words for the same codes (``console/messages.yaml``: wo_status, review_status,
# mode), so a clerk reads one word for one state in both.
STATUS_ZH = {
    "new": "新建",
    "dispatched": "已派单",
    "pending_review": "待人工复核",
    "manual_dispatch": "待人工派单",
    "replied": "已答复",
    "closed": "已办结",
    "returned": "已退回",
}
REVIEW_ZH = {"accepted": "已采纳", "edited": "已修改采纳", "rejected": "已退回"}
DECIDED_ZH = {"ai": "AI建议", "human": "人工"}
MODE_ZH = {"offline": "离线（历史工单训练的分类模型）", "model": "大模型生成"}
URGENCY_ZH = {"urgent": "紧急", "high": "较急", "normal": "一般"}


def write_outputs(result: BatchResult, out_dir: Path) -> dict[str, str]:
    out_dir.mkdir(parents=True, exist_ok=True)
    label = ImplicitLabel(new_content_id(), Mode.OFFLINE if _offline(result) else Mode.MODEL)
    rows = [o.as_dict() for o in result.orders]
    paths = {
        "workbook": out_dir / "workorders.xlsx",
        "jsonl": out_dir / "workorders.jsonl",
        "report": out_dir / "report.html",
    }
    write_workbook(result, rows, label, paths["workbook"])
    write_jsonl(rows, label, paths["jsonl"])
    write_report(result, rows, label, paths["report"])
    return {k: str(v) for k, v in paths.items()}


def _offline(result: BatchResult) -> bool:
    return all(o.mode == "offline" for o in result.orders)


def _decision_cell(decision: dict[str, Any], key: str) -> Any:
    """Who decided the dispatch, what and when (empty while the AI proposal stands)."""
    if key == "reviewer":
        return decision.get("by")
    if key == "review_result":
        return REVIEW_ZH.get(decision.get("status") or "", decision.get("status"))
    return _local(decision.get("at"))


def _local(iso: str | None) -> str:
    """An ISO 8601 time of a row as the console shows it, in Beijing time."""
    return local_time(datetime.fromisoformat(iso), with_seconds=True) if iso else ""


def _cell(row: dict[str, Any], key: str, types: dict[str, str]) -> Any:
    if key == "received_at":
        return _local(row["received_at"])
    if key == "decided_by":
        return DECIDED_ZH.get(row["decided_by"], row["decided_by"])
    if key in ("reviewer", "review_result", "decided_at"):
        return _decision_cell(row["decision"] or {}, key)
    if key == "mode":
        return MODE_ZH.get(row["mode"], row["mode"])
    if key == "place":
        return "".join(row["location"].get(k, "") for k in ("district", "street", "road", "estate"))
    if key == "category_path":
        return " / ".join(row["category_path"])
    if key == "demands":
        return "\n".join(row["demands"])
    if key == "status":
        return STATUS_ZH.get(row["status"], row["status"])
    if key == "order_type":
        return types.get(row["order_type"], row["order_type"])
    if key == "urgency":
        return URGENCY_ZH.get(row["urgency"], row["urgency"])
    return row.get(key)


def write_workbook(
    result: BatchResult, rows: list[dict[str, Any]], label: ImplicitLabel, path: Path
) -> None:
    workbook = Workbook(write_only=True)
    types = {
        "consultation": "咨询",
        "help": "求助",
        "complaint": "投诉",
        "report": "举报",
        "suggestion": "建议",
    }
    about = workbook.create_sheet("说明")
    about.append([visible_label(label.mode, classifier=True)])
    for key, value in _about(result).items():
        about.append([key, str(value)])
    sheet = workbook.create_sheet("工单")
    sheet.append([title for _, title in ORDER_COLUMNS])
    for row in rows:
        sheet.append(sheet_row(sheet, [_cell(row, key, types) for key, _ in ORDER_COLUMNS]))
    problems = workbook.create_sheet("问题行")
    problems.append(["源文件行号", "原因", "是否已保留"])
    for p in result.imported.problems:
        problems.append([p.row, p.reason, "是" if p.kept else "否"])
    topics = workbook.create_sheet("热点")
    topics.append(
        ["排名", "热点", "留言数", "点赞数", "热度（最热=100）", f"起止日期({ZONE_ZH})", "工单编号"]
    )
    # Heat decays with age, so over years of messages its raw value spans many orders of
    # magnitude (9.7e-11 …): shown relative to the hottest topic, as the HTML report does.
    hottest = max((t["heat"] for t in result.hot_topics), default=0.0) or 1.0
    for t in result.hot_topics:
        span = f"{(t['first_at'] or '')[:10]} ~ {(t['last_at'] or '')[:10]}"
        heat = round(100 * t["heat"] / hottest, 1)
        names = [t["name"], t["messages"], t["votes_up"], heat, span]
        topics.append(sheet_row(topics, [t["rank"], *names, "、".join(t["codes"][:50])]))
    workbook.custom_doc_props.append(StringProperty(name="AIGC", value=label.as_json()))
    workbook.save(path)


def _about(result: BatchResult) -> dict[str, Any]:
    about: dict[str, Any] = {
        "源文件": Path(result.source).name,
        "工单数": len(result.orders),
        "待人工复核": result.review_count,
        "人工已决定派单": result.human_count,
        "派单模型": result.model,
        "置信度阈值": result.threshold,
        "无法使用的行": sum(1 for p in result.imported.problems if not p.kept),
        "说明": "派单为AI建议：低于阈值的工单进入人工复核，其余由承办单位确认后办理",
        "时间": f"均为{ZONE_ZH}",
    }
    known = sum(1 for o in result.orders if o.stored is not None)
    if known:
        about["重复导入"] = (
            f"{known} 张工单此前已导入，未重复写入；其分类、承办单位、状态和决定方"
            "按数据库中的现状写出（含人工复核的决定）"
        )
    return about


def write_jsonl(rows: list[dict[str, Any]], label: ImplicitLabel, path: Path) -> None:
    aigc = label.as_dict()
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({**row, "AIGC": aigc}, ensure_ascii=False))
            handle.write("\n")


def _vendor(name: str) -> str:
    return resources.files("shuzhi").joinpath(f"console/static/vendor/{name}").read_text("utf-8")


def _packaged(name: str) -> str:
    return resources.files(__package__).joinpath(f"data/{name}").read_text("utf-8")


def report_data(result: BatchResult, rows: list[dict[str, Any]]) -> dict[str, Any]:
    deadlines = Counter(r["deadline"] for r in rows if r["deadline"])
    buckets = Counter(min(int(r["confidence"] * 10), 9) for r in rows)
    return {
        "summary": _about(result),
        "categories": Counter(r["category"] for r in rows).most_common(),
        "units": Counter(r["handling_unit"] for r in rows).most_common(),
        "types": Counter(r["order_type"] for r in rows).most_common(),
        "urgency": Counter(r["urgency"] for r in rows).most_common(),
        "deadlines": sorted(deadlines.items()),
        "confidence": [[f"{b / 10:.1f}-{(b + 1) / 10:.1f}", buckets.get(b, 0)] for b in range(10)],
        "threshold": result.threshold,
        "evaluation": result.evaluation,
        "hot_topics": result.hot_topics,
        "problems": [[p.row, p.reason] for p in result.imported.problems[:200]],
    }


def write_report(
    result: BatchResult, rows: list[dict[str, Any]], label: ImplicitLabel, path: Path
) -> None:
    data = json.dumps(report_data(result, rows), ensure_ascii=False).replace("</", "<\\/")
    fills = {
        "TITLE": html.escape(f"12345 热线工单批处理报告 · {Path(result.source).name}"),
        "AIGC": html.escape(label.as_json(), quote=True),
        "VISIBLE": html.escape(visible_label(label.mode, classifier=True)),
        "ECHARTS": _vendor("echarts.min.js").replace("</script", "<\\/script"),
        "DATA": data,
        "SCRIPT": _packaged("report.js"),
    }
    # Filled in one pass, so a value that happens to contain a marker is never filled again.
    page = re.sub(r"@@([A-Z]+)@@", lambda m: fills[m.group(1)], _packaged("report.html"))
    path.write_text(page, "utf-8")
