"""The dispatch classifier: learned offline from the department's own labelled work orders.

Features are character unigrams and bigrams, TF-IDF with sublinear term frequency; the model is
a linear SVM, calibrated (sigmoid, 3-fold) so its probabilities can serve as the dispatch
confidence. On the shared labelled file this beat character 1–3-grams, rjieba word n-grams, their
union, title weighting, logistic regression and complement naive Bayes (docs/benchmarks/hotline.md).

Trained models are versioned on disk with a manifest (version, time, classes, sample count,
cross-validation scores) so a dispatch can always name the model it used.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_union
from sklearn.svm import LinearSVC

from shuzhi.errors import InvalidInput, NotFound
from shuzhi.scenarios.hotline._base import segment
from shuzhi.storage.db import utcnow

log = logging.getLogger(__name__)

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
_NORMAL = re.compile(r"\s+")
Progress = Callable[[int, int], None]


def words(text: str) -> list[str]:
    """Tokens for the word features: rjieba words without whitespace."""
    return [w for w in segment(text) if not w.isspace()]


_DIGITS = re.compile(r"\d+")
_LATIN = re.compile(r"[A-Za-z]+")


def normalise(text: str) -> str:
    """Digits and Latin letters folded to one symbol each: a phone number, a date or a
    pseudonymised place (``A3区``) says nothing about which unit handles a matter."""
    return _LATIN.sub("a", _DIGITS.sub("0", text))


def build_pipeline(calibrated: bool = True) -> Pipeline:
    """Features and model. ``calibrated`` wraps the SVM so it yields probabilities.

    Classes are weighted by inverse frequency: dispatch quality is judged by macro-F1, and the
    small classes (交通运输) otherwise lose their border cases to the sink class (城乡建设)."""
    features = make_union(
        TfidfVectorizer(
            analyzer="char", ngram_range=(1, 2), sublinear_tf=True, preprocessor=normalise
        ),
    )
    svm = LinearSVC(C=3.0, class_weight="balanced")
    model = CalibratedClassifierCV(svm, method="sigmoid", cv=3) if calibrated else svm
    return Pipeline([("features", features), ("model", model)])


def training_text(title: str, text: str) -> str:
    """The text the classifier sees: the title joined to the text, unless the text repeats it."""
    if title and not text.startswith(title):
        return f"{title}。{text}"
    return text


@dataclass
class Manifest:
    version: int
    trained_at: str
    classes: list[str]
    n_samples: int
    features: str = "char 1-2 TF-IDF (sublinear), digits and Latin letters folded"
    estimator: str = "LinearSVC(C=3, balanced classes), sigmoid-calibrated (3-fold)"
    cv: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def name(self) -> str:
        return f"hotline-dispatch-v{self.version}"


@dataclass
class DispatchClassifier:
    pipeline: Pipeline
    manifest: Manifest

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        probs: NDArray[np.float64] = self.pipeline.predict_proba(list(texts))
        return probs

    def top(self, texts: Sequence[str], k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` likeliest categories of each text, with their probabilities."""
        probs, classes = self.predict_proba(texts), self.classes
        order = np.argsort(-probs, axis=1)[:, :k]
        return [
            [(classes[j], float(row[j])) for j in idx]
            for row, idx in zip(probs, order, strict=True)
        ]


def _check_training_set(texts: Sequence[str], labels: Sequence[str]) -> None:
    if len(texts) != len(labels):
        raise InvalidInput("训练文本与标签数量不一致")
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    if len(counts) < 2:
        raise InvalidInput(
            "训练数据至少需要两个类别的已分类工单", hint="检查历史工单文件的“一级分类”列"
        )
    if min(counts.values()) < 2:
        rare = "、".join(k for k, v in counts.items() if v < 2)
        raise InvalidInput(f"以下类别只有一条样本，无法训练：{rare}", hint="补充样本或合并类别")


def train(texts: Sequence[str], labels: Sequence[str], *, source: str = "") -> DispatchClassifier:
    """Fit a classifier on labelled texts. The version is set when it is saved."""
    _check_training_set(texts, labels)
    pipeline = build_pipeline()
    pipeline.fit(list(texts), list(labels))
    manifest = Manifest(
        version=0,
        trained_at=utcnow().isoformat(timespec="seconds"),
        classes=[str(c) for c in pipeline.classes_],
        n_samples=len(texts),
        source=source,
    )
    return DispatchClassifier(pipeline, manifest)


def deduplicate(texts: Sequence[str], labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """Drop repeated messages (same text, ignoring whitespace and a leading title).

    The labelled file was rebuilt from several copies; a message in both a training and a test
    fold would inflate the score. The key is the text's last 80 characters, which a joined
    title does not change.
    """
    seen: set[str] = set()
    kept_texts, kept_labels = [], []
    for text, label in zip(texts, labels, strict=True):
        key = _NORMAL.sub("", text)[-80:]
        if key not in seen:
            seen.add(key)
            kept_texts.append(text)
            kept_labels.append(label)
    return kept_texts, kept_labels


@dataclass
class CrossValidation:
    folds: int
    n_samples: int
    n_duplicates_removed: int
    accuracy: float
    macro_f1: float
    fold_macro_f1: list[float]
    classes: list[str]
    confusion: list[list[int]]
    per_class_f1: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    progress: Progress | None = None,
) -> CrossValidation:
    """Stratified k-fold scores on deduplicated data, with the pooled confusion matrix."""
    _check_training_set(texts, labels)
    x, y_list = deduplicate(texts, labels)
    y = np.array(y_list)
    predicted = np.empty_like(y)
    fold_scores = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for i, (train_idx, test_idx) in enumerate(splitter.split(x, y), start=1):
        pipeline = build_pipeline().fit([x[j] for j in train_idx], y[train_idx])
        predicted[test_idx] = pipeline.predict([x[j] for j in test_idx])
        fold_scores.append(float(f1_score(y[test_idx], predicted[test_idx], average="macro")))
        if progress:
            progress(i, folds)
    return _scores(y, predicted, folds, len(texts) - len(x), fold_scores)


def _scores(
    y: NDArray[Any], predicted: NDArray[Any], folds: int, removed: int, fold_scores: list[float]
) -> CrossValidation:
    classes = sorted({str(c) for c in y})
    per_class = f1_score(y, predicted, labels=classes, average=None)
    return CrossValidation(
        folds=folds,
        n_samples=len(y),
        n_duplicates_removed=removed,
        accuracy=float(accuracy_score(y, predicted)),
        macro_f1=float(f1_score(y, predicted, average="macro")),
        fold_macro_f1=fold_scores,
        classes=classes,
        confusion=confusion_matrix(y, predicted, labels=classes).tolist(),
        per_class_f1={c: float(s) for c, s in zip(classes, per_class, strict=True)},
    )


class ModelStore:
    """Versioned classifiers under ``<root>/v<N>/``; the highest version is the current one."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def versions(self) -> list[int]:
        if not self.root.is_dir():
            return []
        found = [p.name[1:] for p in self.root.glob("v*") if (p / MANIFEST_FILE).is_file()]
        return sorted(int(v) for v in found if v.isdigit())

    def save(self, classifier: DispatchClassifier) -> Manifest:
        # Count incomplete folders too (a crash mid-save), so a number is never reused.
        taken = [p.name[1:] for p in self.root.glob("v*")] if self.root.is_dir() else []
        version = max([int(v) for v in taken if v.isdigit()] + [0]) + 1
        classifier.manifest.version = version
        folder = self.root / f"v{version}"
        folder.mkdir(parents=True, exist_ok=False)
        joblib.dump(classifier.pipeline, folder / MODEL_FILE, compress=3)
        # The manifest is written last: a version without one is incomplete and never loaded.
        text = json.dumps(asdict(classifier.manifest), ensure_ascii=False, indent=2)
        (folder / MANIFEST_FILE).write_text(text, "utf-8")
        log.info(
            "saved dispatch classifier v%d (%d samples)", version, classifier.manifest.n_samples
        )
        return classifier.manifest

    def manifest(self, version: int) -> Manifest:
        text = (self.root / f"v{version}" / MANIFEST_FILE).read_text("utf-8")
        return Manifest(**json.loads(text))

    def load(self, version: int | None = None) -> DispatchClassifier:
        versions = self.versions()
        if not versions:
            raise NotFound(
                f"还没有训练派单模型（{self.root}）",
                hint="先运行 `shuzhi hotline train 历史工单.csv`",
            )
        chosen = version if version is not None else versions[-1]
        if chosen not in versions:
            raise NotFound(f"没有派单模型版本 v{chosen}，已有：{versions}")
        pipeline = joblib.load(self.root / f"v{chosen}" / MODEL_FILE)
        return DispatchClassifier(pipeline, self.manifest(chosen))
