"""The dispatch classifier: learned offline from the department's own labelled work orders.

Features are character unigrams and bigrams, TF-IDF with sublinear term frequency; the model is
one linear SVM trained on the whole history. Its decision values become the dispatch confidence
through a softmax whose temperature is fitted on out-of-fold decision values (3-fold, within the
deduplicated training data, Platt's softened targets), so the calibration never changes which
category wins. On the shared labelled file this beat character 1–4-grams, rjieba word n-grams,
their union, a head-of-text block, logistic regression, NB-SVM, complement naive Bayes and a
stacked ensemble (docs/benchmarks/hotline.md).

Trained models are versioned on disk with a manifest (format, version, time, classes, sample
count, temperature, cross-validation scores) so a dispatch can always name the model it used.
Format 1 (a sigmoid-calibrated SVM, before 2026-12-04) still loads and predicts as it did.
"""

from __future__ import annotations

import hashlib
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
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import clone
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
# Short hashes of the messages a model was trained on, so a batch scored against its own labels
# can leave out what the model has already seen (models saved before 2026-12-04 have none).
KEYS_FILE = "training-keys.json"
# Format of a saved model. 1: sigmoid-calibrated SVM (probabilities from the pipeline).
# 2: plain SVM + softmax temperature in the manifest.
FORMAT = 2
CALIBRATION_FOLDS = 3
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


def build_pipeline() -> Pipeline:
    """Features and model; the model's decision values are turned into probabilities by
    ``DispatchClassifier`` with the temperature from ``fit_temperature``.

    Classes are weighted by inverse frequency: dispatch quality is judged by macro-F1, and the
    small classes (交通运输) otherwise lose their border cases to the sink class (城乡建设)."""
    features = make_union(
        TfidfVectorizer(
            analyzer="char", ngram_range=(1, 2), sublinear_tf=True, preprocessor=normalise
        ),
    )
    svm = LinearSVC(C=3.0, class_weight="balanced", random_state=0)
    return Pipeline([("features", features), ("model", svm)])


def fit_temperature(features: Any, labels: Sequence[str], model: Any, *, seed: int = 0) -> float:
    """The softmax temperature that makes the SVM's decision values honest probabilities.

    ``features`` are the rows of the deduplicated history (already vectorised, as the sigmoid
    calibration before it did) and ``model`` an unfitted SVM. Fitted (minimum log-loss) on
    out-of-fold decision values: a model never scores texts it was trained on, which would make
    it look far surer than it is on new messages. As in Platt scaling, the targets are softened
    to (n+1)/(n+2) for a class of n samples, so a history that happens to be perfectly separable
    (a few templates) does not drive the temperature to zero and every confidence to 1."""
    y = np.array(labels)
    classes, counts = np.unique(y, return_counts=True)
    folds = min(CALIBRATION_FOLDS, int(counts.min()))
    decisions = np.zeros((len(y), len(classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.zeros(len(y)), y):
        fitted = clone(model).fit(features[train_idx], y[train_idx])
        decisions[test_idx] = _decision(fitted, features[test_idx], len(classes))
    targets = _soft_targets(np.searchsorted(classes, y), counts)

    def log_loss(log_t: float) -> float:
        scaled = log_softmax(decisions / np.exp(log_t), axis=1)
        return float(-(targets * scaled).sum(axis=1).mean())

    best = minimize_scalar(log_loss, bounds=(-7.0, 4.0), method="bounded")
    return float(np.exp(best.x))


def _soft_targets(truth: NDArray[np.intp], counts: NDArray[np.intp]) -> NDArray[np.float64]:
    """Platt's out-of-sample targets: (n+1)/(n+2) for the true class, the rest shared."""
    n_classes = len(counts)
    right = (counts[truth] + 1) / (counts[truth] + 2)
    targets = np.repeat(((1 - right) / (n_classes - 1))[:, None], n_classes, axis=1)
    targets[np.arange(len(truth)), truth] = right
    return targets


def _decision(model: Any, rows: Any, n_classes: int) -> NDArray[np.float64]:
    """Decision values as one column per class (a two-class SVM gives one signed column)."""
    values: NDArray[np.float64] = model.decision_function(rows)
    if n_classes == 2:
        values = np.column_stack([-values, values]) / 2
    return values


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
    estimator: str = "LinearSVC(C=3, balanced classes), softmax with a 3-fold fitted temperature"
    cv: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    # Manifests written before formats were recorded are format 1.
    format: int = 1
    temperature: float | None = None

    @property
    def name(self) -> str:
        return f"hotline-dispatch-v{self.version}"


def text_key(text: str) -> str:
    """A short hash of a message as ``deduplicate`` compares them (whitespace and a leading
    title ignored), kept instead of the text itself."""
    tail = _NORMAL.sub("", text)[-80:]
    return hashlib.blake2b(tail.encode("utf-8"), digest_size=8).hexdigest()


@dataclass
class DispatchClassifier:
    pipeline: Pipeline
    manifest: Manifest
    training_keys: frozenset[str] = frozenset()

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def predict_proba(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """Probabilities per class (columns in the order of ``classes``)."""
        if self.manifest.format == 1:  # a sigmoid-calibrated pipeline gives them itself
            old: NDArray[np.float64] = self.pipeline.predict_proba(list(texts))
            return old
        decisions = _decision(self.pipeline, list(texts), len(self.classes))
        probs: NDArray[np.float64] = softmax(decisions / (self.manifest.temperature or 1.0), axis=1)
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
    texts, labels = list(texts), list(labels)
    pipeline = build_pipeline()
    features, model = pipeline.named_steps["features"], pipeline.named_steps["model"]
    matrix = features.fit_transform(texts)
    unique = unique_indices(texts)
    temperature = fit_temperature(matrix[unique], [labels[i] for i in unique], model)
    model.fit(matrix, labels)
    manifest = Manifest(
        version=0,
        trained_at=utcnow().isoformat(timespec="seconds"),
        classes=[str(c) for c in pipeline.classes_],
        n_samples=len(texts),
        source=source,
        format=FORMAT,
        temperature=temperature,
    )
    log.info("trained dispatch classifier (%d samples, temperature %.3f)", len(texts), temperature)
    return DispatchClassifier(pipeline, manifest, frozenset(text_key(t) for t in texts))


def deduplicate(texts: Sequence[str], labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """Drop repeated messages (same text, ignoring whitespace and a leading title).

    The labelled file was rebuilt from several copies; a message in both a training and a test
    fold would inflate the score. The key is the text's last 80 characters, which a joined
    title does not change.
    """
    if len(texts) != len(labels):
        raise InvalidInput("训练文本与标签数量不一致")
    kept = unique_indices(texts)
    return [texts[i] for i in kept], [labels[i] for i in kept]


def unique_indices(texts: Sequence[str]) -> list[int]:
    """Positions of the first copy of each message (the key of ``deduplicate``)."""
    seen: set[str] = set()
    kept = []
    for i, text in enumerate(texts):
        key = _NORMAL.sub("", text)[-80:]
        if key not in seen:
            seen.add(key)
            kept.append(i)
    return kept


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
        keys = sorted(classifier.training_keys)
        (folder / KEYS_FILE).write_text(json.dumps(keys), "utf-8")
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
        manifest = self.manifest(chosen)
        if manifest.format > FORMAT:
            raise InvalidInput(
                f"派单模型 v{chosen} 的格式（{manifest.format}）比本程序支持的（{FORMAT}）新",
                hint="升级 shuzhi，或运行 `shuzhi hotline train 历史工单.csv` 重新训练",
            )
        pipeline = joblib.load(self.root / f"v{chosen}" / MODEL_FILE)
        keys_file = self.root / f"v{chosen}" / KEYS_FILE
        keys = json.loads(keys_file.read_text("utf-8")) if keys_file.is_file() else []
        return DispatchClassifier(pipeline, manifest, frozenset(keys))
