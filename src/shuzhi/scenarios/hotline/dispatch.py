"""Dispatch (派单): the local classifier, optionally combined with a model step.

Every dispatch carries a confidence. Below the threshold the order waits for a person (a review
task) instead of going straight to the handling unit: a dispatch decides who must act, and the
regulation (Art. 23(2)) ties that to duties, so an unsure machine must not decide it alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from shuzhi.scenarios.hotline.classifier import DispatchClassifier
from shuzhi.scenarios.hotline.records import Dispatch
from shuzhi.scenarios.hotline.rules import Rules

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.6
# Weight of the model's choice when combined with the classifier's probabilities.
MODEL_WEIGHT = 0.5


@dataclass(frozen=True)
class ModelChoice:
    category: str
    confidence: float
    model: str
    reason: str = ""


class ModelStep(Protocol):
    """A model endpoint that picks one category given the message, similar cases and candidates."""

    def choose(
        self, masked_text: str, similar: Sequence[tuple[str, str]], candidates: Sequence[str]
    ) -> ModelChoice | None: ...


@dataclass
class Dispatcher:
    classifier: DispatchClassifier
    rules: Rules
    threshold: float = DEFAULT_THRESHOLD
    model_step: ModelStep | None = None
    similar: SimilarCases | None = None
    # The model is asked only when the classifier is less sure than this (saves model calls).
    model_below: float = 0.9

    def dispatch_many(self, texts: Sequence[str]) -> list[Dispatch]:
        """Dispatch a batch of masked texts; the classifier runs once over all of them."""
        tops = self.classifier.top(texts, k=3)
        return [self._decide(text, top) for text, top in zip(texts, tops, strict=True)]

    def _decide(self, text: str, top: list[tuple[str, float]]) -> Dispatch:
        category, confidence = top[0]
        mode, model, reason = "offline", self.classifier.manifest.name, ""
        if self.model_step is not None and confidence < self.model_below:
            combined = self._with_model(text, top)
            if combined is not None:
                (category, confidence), choice = combined
                mode, model, reason = "model", f"{model}+{choice.model}", choice.reason
        # A category with no handling unit on the duty list cannot go anywhere by itself.
        on_duty_list = self.rules.has_unit(category)
        return Dispatch(
            category=category,
            confidence=confidence,
            handling_unit=self.rules.handling_unit(category),
            candidates=top,
            mode=mode,
            model=model,
            needs_review=confidence < self.threshold or not on_duty_list,
            reason=reason if on_duty_list else f"职责清单中没有“{category}”的承办单位",
        )

    def _with_model(
        self, text: str, top: list[tuple[str, float]]
    ) -> tuple[tuple[str, float], ModelChoice] | None:
        assert self.model_step is not None
        cases = self.similar.find(text) if self.similar else []
        candidates = self.classifier.classes
        choice = self.model_step.choose(text, cases, candidates)
        if choice is None or choice.category not in candidates:
            return None
        return combine(top, choice), choice


def combine(top: list[tuple[str, float]], choice: ModelChoice) -> tuple[str, float]:
    """Blend the classifier's probabilities with the model's pick; the higher blend wins."""
    scores = {c: (1 - MODEL_WEIGHT) * p for c, p in top}
    scores[choice.category] = scores.get(choice.category, 0.0) + MODEL_WEIGHT * choice.confidence
    best = max(scores, key=lambda c: scores[c])
    return best, scores[best]


class SimilarCases:
    """The past labelled cases most like a message (cosine over the classifier's features)."""

    def __init__(self, classifier: DispatchClassifier, texts: Sequence[str], labels: Sequence[str]):
        self._features = classifier.pipeline.named_steps["features"]
        self._matrix = self._features.transform(list(texts))
        self._texts, self._labels = list(texts), list(labels)

    def find(self, text: str, k: int = 3) -> list[tuple[str, str]]:
        scores = (self._matrix @ self._features.transform([text]).T).toarray().ravel()
        best = scores.argsort()[::-1][:k]
        return [(self._texts[i][:300], self._labels[i]) for i in best if scores[i] > 0]
