"""The hotline batch job: citizen messages in, dispatched work orders and a report out.

import → clean → mask → classify → extract → deadline → (store) → write. Each step is a named
function; the job reports progress through a callback so the CLI, the API and the job queue
can all run it. Work-order codes come from the input file's content and the row number, so
running the same file again never creates an order twice; its files then show the stored orders
as they stand (a reviewer's decisions included), not the run's fresh proposals.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shuzhi.errors import UserError, os_error_zh
from shuzhi.scenarios.hotline._base import mask_for_display, mask_requester, readable_name
from shuzhi.scenarios.hotline.classifier import DispatchClassifier, text_key, training_text
from shuzhi.scenarios.hotline.dispatch import DEFAULT_THRESHOLD, Dispatcher
from shuzhi.scenarios.hotline.extract import (
    classify_type,
    classify_urgency,
    extract_demands,
    extract_location,
)
from shuzhi.scenarios.hotline.importing import import_file
from shuzhi.scenarios.hotline.records import ImportResult, Message, Order
from shuzhi.scenarios.hotline.rules import Rules, load_rules
from shuzhi.scenarios.hotline.taxonomy import Taxonomy

log = logging.getLogger(__name__)

CHUNK = 2000
# Progress is reported as (done, total, stage); stage is a short Chinese label for a person.
Progress = Callable[[int, int, str], None]


def _no_progress(done: int, total: int, stage: str) -> None:
    return None


def file_key(path: Path) -> str:
    """Ten hex digits of the file's SHA-256: the stable part of its work-order codes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:10]


def order_code(key: str, row: int) -> str:
    return f"HL-{key}-{row:06d}"


@dataclass
class BatchResult:
    source: str
    orders: list[Order]
    imported: ImportResult
    model: str
    threshold: float
    evaluation: dict[str, Any] | None = None
    hot_topics: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)

    @property
    def review_count(self) -> int:
        """Orders waiting for a person: this run's proposals, or as stored when already known."""
        return sum(1 for o in self.orders if o.status == "pending_review")

    @property
    def manual_count(self) -> int:
        """Orders a reviewer sent back to the hotline office to dispatch by hand."""
        return sum(1 for o in self.orders if o.status == "manual_dispatch")

    @property
    def human_count(self) -> int:
        """Orders whose dispatch a person decided (a re-run of a file that was reviewed)."""
        return sum(1 for o in self.orders if o.decided_by == "human")

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "messages": len(self.orders),
            "problems": len(self.imported.problems),
            "to_review": self.review_count,
            "dispatched": len(self.orders) - self.review_count - self.manual_count,
            "manual_dispatch": self.manual_count,
            "decided_by_human": self.human_count,
            "model": self.model,
            "threshold": self.threshold,
            "evaluation": _short_evaluation(self.evaluation),
            "outputs": self.outputs,
            "stored": self.stored,
        }


def _short_evaluation(evaluation: dict[str, Any] | None) -> dict[str, Any] | None:
    if not evaluation:
        return None
    keep = ("accuracy", "macro_f1", "n_labelled", "n_in_training", "training_only", "note")
    return {k: evaluation[k] for k in keep if k in evaluation}


def build_orders(
    messages: Sequence[Message],
    dispatcher: Dispatcher,
    key: str,
    progress: Progress = _no_progress,
    taxonomy: Taxonomy | None = None,
    accepted: datetime | None = None,
) -> list[Order]:
    """Mask, classify, extract and set deadlines for ``messages``, a chunk at a time; with a
    ``taxonomy``, place each order on its lower levels too. A message without a readable receipt
    time has its deadline counted from ``accepted`` (the import; now when not given)."""
    accepted = accepted or datetime.now(UTC)
    orders: list[Order] = []
    for start in range(0, len(messages), CHUNK):
        chunk = messages[start : start + CHUNK]
        orders.extend(_build_chunk(chunk, dispatcher, key, taxonomy, accepted))
        progress(len(orders), len(messages), "分类派单")
    return orders


def _build_chunk(
    chunk: Sequence[Message],
    dispatcher: Dispatcher,
    key: str,
    taxonomy: Taxonomy | None,
    accepted: datetime,
) -> list[Order]:
    masked = [(mask_for_display(m.title), mask_for_display(m.text)) for m in chunk]
    texts = [training_text(title, text) for title, text in masked]
    dispatches = dispatcher.dispatch_many(texts)
    orders = [
        _order(m, title, text, d, dispatcher.rules, key, accepted)
        for m, (title, text), d in zip(chunk, masked, dispatches, strict=True)
    ]
    if taxonomy is not None:
        for order, text in zip(orders, texts, strict=True):
            order.category_path = taxonomy.path(order.dispatch.category, text)
    return orders


def _order(
    message: Message,
    title: str,
    text: str,
    dispatch: Any,
    rules: Rules,
    key: str,
    accepted: datetime,
) -> Order:
    joined = f"{title}。{text}" if title else text
    order_type = classify_type(title, text, rules)
    urgency = classify_urgency(joined, rules)
    return Order(
        code=order_code(key, message.row),
        message=message,
        masked_text=text,
        masked_title=title,
        requester_display=mask_requester(message.requester),
        location=extract_location(joined),
        order_type=order_type,
        urgency=urgency,
        deadline=rules.deadline(message.received_at, order_type, urgency, accepted),
        dispatch=dispatch,
        category_path=[dispatch.category],
        demands=extract_demands(text),
    )


def evaluate(
    orders: Sequence[Order], training_keys: Collection[str] = frozenset()
) -> dict[str, Any] | None:
    """Accuracy, macro-F1 and the confusion matrix when the input carries labels.

    Messages the model was trained on (``training_keys``, see ``classifier.text_key``) are left
    out: scoring a model on its own training data says little (the shared sample file shares
    two thirds of its messages with the labelled history). When every labelled message was in
    training, all are scored and the result says so.
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    labelled = [o for o in orders if o.message.label]
    if not labelled:
        return None
    unseen = [
        o
        for o in labelled
        if text_key(training_text(o.message.title, o.message.text)) not in training_keys
    ]
    in_training = len(labelled) - len(unseen)
    scored = unseen or labelled
    truth = [str(o.message.label) for o in scored]
    predicted = [o.dispatch.category for o in scored]
    classes = sorted(set(truth) | set(predicted))
    if not in_training:
        note = "在本批数据上的结果；若这些数据也用于训练模型，此数值偏高，请以交叉验证为准"
    elif unseen:
        note = f"只计未参与训练的 {len(unseen)} 条；另有 {in_training} 条在训练数据中，未计入"
    else:
        note = "本批全部是训练数据，此数值偏高，请以交叉验证（shuzhi hotline train --folds 5）为准"
    return {
        "n_labelled": len(scored),
        "n_in_training": in_training,
        "training_only": not unseen and in_training > 0,
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, labels=classes, average="macro")),
        "classes": classes,
        "confusion": confusion_matrix(truth, predicted, labels=classes).tolist(),
        "note": note,
    }


@dataclass
class BatchJob:
    """Everything the batch needs; build it once, run it on many files."""

    classifier: DispatchClassifier
    rules: Rules = field(default_factory=load_rules)
    threshold: float = DEFAULT_THRESHOLD
    dispatcher: Dispatcher | None = None
    topics: bool = True
    taxonomy: Taxonomy | None = None

    def __post_init__(self) -> None:
        if self.dispatcher is None:
            self.dispatcher = Dispatcher(self.classifier, self.rules, self.threshold)

    def run(
        self,
        input_path: Path,
        out_dir: Path | None = None,
        *,
        progress: Progress = _no_progress,
        store: Callable[[BatchResult], dict[str, int]] | None = None,
        imported: ImportResult | None = None,
    ) -> BatchResult:
        """Run on ``input_path``; ``imported`` is that file already imported, if it is."""
        assert self.dispatcher is not None
        progress(0, 0, "读取文件")
        imported = imported or import_file(input_path)
        key = file_key(input_path)
        orders = build_orders(imported.messages, self.dispatcher, key, progress, self.taxonomy)
        result = BatchResult(
            source=readable_name(input_path),
            orders=orders,
            imported=imported,
            model=self.classifier.manifest.name,
            threshold=self.threshold,
            evaluation=evaluate(orders, self.classifier.training_keys),
        )
        if self.topics:
            result.hot_topics = _hot_topics(orders, progress)
        if store is not None:
            progress(len(orders), len(orders), "写入数据库")
            result.stored = store(result)
        if out_dir is not None:
            progress(len(orders), len(orders), "生成报告")
            result.outputs = _write_outputs(result, Path(out_dir))
        log.info(
            "hotline batch %s: %d orders, %d to review",
            Path(result.source).name,
            len(orders),
            result.review_count,
        )
        return result


def _write_outputs(result: BatchResult, out_dir: Path) -> dict[str, str]:
    """The batch's files; when they cannot be written, say whether the orders were stored."""
    from shuzhi.scenarios.hotline.outputs import write_outputs

    try:
        return write_outputs(result, out_dir)
    except OSError as exc:
        reason = os_error_zh(exc, writing=True)
        where = exc.filename or out_dir
        if not result.stored:
            raise UserError(f"无法写出结果文件 {where}：{reason}", hint="检查输出目录") from exc
        raise UserError(
            f"工单已写入数据库（新增 {result.stored['inserted']} 张），"
            f"但结果文件 {where} 无法写出：{reason}",
            hint="排除问题后再处理一次同一文件即可写出文件；已导入的工单不会重复写入",
        ) from exc


def _hot_topics(orders: Sequence[Order], progress: Progress) -> list[dict[str, Any]]:
    from shuzhi.scenarios.hotline.hotspots import hot_topics

    progress(len(orders), len(orders), "热点聚类")
    return [t.as_dict() for t in hot_topics(orders)]
