from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from shuzhi.errors import InvalidInput, NotFound
from shuzhi.scenarios.hotline.classifier import (
    FORMAT,
    DispatchClassifier,
    Manifest,
    ModelStore,
    cross_validate,
    deduplicate,
    fit_temperature,
    train,
)
from shuzhi.scenarios.hotline.service import load_history, train_and_save


def test_classifier_learns_the_history(classifier: DispatchClassifier) -> None:
    top = classifier.top(["A市某公司拖欠农民工工资三个月，请劳动监察部门帮忙追讨", "河道污染严重"])
    assert top[0][0][0] == "劳动和社会保障"
    assert top[1][0][0] == "环境保护"
    assert abs(sum(p for _, p in classifier.top(["x"], k=7)[0]) - 1.0) < 1e-6


def test_store_versions_and_manifest(tmp_path: Path, sample_files: tuple[Path, Path]) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(NotFound, match="shuzhi hotline train"):
        store.load()

    first, scores = train_and_save(sample_files[0], store, folds=3)
    second, _ = train_and_save(sample_files[0], store)
    assert (first.version, second.version) == (1, 2)
    assert scores is not None and scores.folds == 3

    loaded = store.load()
    assert loaded.manifest.version == 2 and loaded.manifest.name == "hotline-dispatch-v2"
    assert store.load(1).manifest.cv["macro_f1"] == pytest.approx(scores.macro_f1)
    assert loaded.manifest.n_samples == 420 and len(loaded.manifest.classes) == 7
    with pytest.raises(NotFound):
        store.load(9)


def test_an_incomplete_version_is_never_loaded_nor_reused(
    tmp_path: Path, sample_files: tuple[Path, Path]
) -> None:
    store = ModelStore(tmp_path)
    (tmp_path / "v1").mkdir()  # a crash before the manifest was written
    assert store.versions() == []
    assert store.save(train(*load_history(sample_files[0]))).version == 2


def test_cross_validation_removes_duplicates(sample_files: tuple[Path, Path]) -> None:
    texts, labels = load_history(sample_files[0])
    kept, _ = deduplicate(texts, labels)
    assert len(kept) < len(texts)  # the invented history repeats its templates
    scores = cross_validate(texts, labels, folds=3)
    assert scores.n_samples == len(kept)
    assert scores.n_duplicates_removed == len(texts) - len(kept)
    assert sum(map(sum, scores.confusion)) == len(kept)


def test_training_needs_two_classes() -> None:
    with pytest.raises(InvalidInput, match="两个类别"):
        train(["a", "b"], ["x", "x"])
    with pytest.raises(InvalidInput, match="只有一条"):
        train(["a", "b", "c"], ["x", "x", "y"])


def test_confidence_is_a_tempered_softmax_that_keeps_the_svm_winner(
    classifier: DispatchClassifier,
) -> None:
    texts = ["小区门口道路坑洼，请修路", "学校收费不合理", "医院排队太久", "出租车拒载"]
    probs = classifier.predict_proba(texts)
    assert classifier.manifest.format == FORMAT
    temperature = classifier.manifest.temperature
    assert temperature is not None and temperature > 0
    assert np.allclose(probs.sum(axis=1), 1.0)
    predicted = classifier.pipeline.predict(texts)
    assert [classifier.classes[i] for i in probs.argmax(axis=1)] == list(predicted)
    # A hotter softmax is less sure: the temperature really is what sets the confidence.
    scaled = classifier.pipeline.decision_function(texts) / (temperature * 4)
    hotter = np.exp(scaled) / np.exp(scaled).sum(axis=1, keepdims=True)
    assert (hotter.max(axis=1) < probs.max(axis=1)).all()


def test_temperature_comes_from_held_out_decisions() -> None:
    # Labels that the text cannot predict: held-out decision values are noise, so the fitted
    # softmax must be nearly flat; fitted on the training texts themselves it would not be.
    rng = np.random.default_rng(0)
    texts = [
        f"市民反映问题编号{i}号" + "".join(rng.choice(list("路灯水电学医车"), 3)) for i in range(60)
    ]
    labels = [str(rng.choice(["甲", "乙", "丙"])) for _ in texts]
    noisy = train(texts, labels)
    assert noisy.predict_proba(texts[:10]).max() < 0.7
    matrix = noisy.pipeline.named_steps["features"].transform(texts)
    again = fit_temperature(matrix, labels, LinearSVC(C=3.0, class_weight="balanced"))
    assert again == pytest.approx(noisy.manifest.temperature, rel=0.05)
    # On its own training rows the SVM is (wrongly) right about nearly all: a temperature fitted
    # there would make it sure of itself.
    assert (noisy.pipeline.predict(texts) == np.array(labels)).mean() > 0.9


def test_a_two_class_history_gives_two_probabilities() -> None:
    texts = ["道路积水", "路灯坏了", "马路塌陷", "拖欠工资", "社保断缴", "工伤认定"]
    two = train(texts, ["城乡建设"] * 3 + ["劳动和社会保障"] * 3)
    top = two.top(["工资拖欠三个月"], k=2)[0]
    assert top[0][0] == "劳动和社会保障" and sum(p for _, p in top) == pytest.approx(1.0)


def test_a_format_1_model_still_loads_and_predicts(
    tmp_path: Path, sample_files: tuple[Path, Path]
) -> None:
    texts, labels = load_history(sample_files[0])
    old = Pipeline(
        [
            ("features", TfidfVectorizer(analyzer="char", ngram_range=(1, 2))),
            ("model", CalibratedClassifierCV(LinearSVC(), method="sigmoid", cv=3)),
        ]
    ).fit(texts, labels)
    folder = tmp_path / "v1"
    folder.mkdir()
    joblib.dump(old, folder / "model.joblib")
    manifest = asdict(
        Manifest(version=1, trained_at="2026-12-01T00:00:00", classes=[], n_samples=1)
    )
    for key in ("format", "temperature"):  # written before these fields existed
        manifest.pop(key)
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")

    loaded = ModelStore(tmp_path).load()
    assert loaded.manifest.format == 1
    assert np.allclose(loaded.predict_proba(texts[:5]), old.predict_proba(texts[:5]))


def test_a_model_from_a_newer_format_is_refused_with_what_to_do(
    tmp_path: Path, classifier: DispatchClassifier
) -> None:
    store = ModelStore(tmp_path)
    # A copy: saving sets the version, and the fixture is shared with other tests.
    saved = store.save(DispatchClassifier(classifier.pipeline, replace(classifier.manifest)))
    path = tmp_path / f"v{saved.version}" / "manifest.json"
    manifest = json.loads(path.read_text("utf-8"))
    path.write_text(json.dumps({**manifest, "format": FORMAT + 1}), "utf-8")
    with pytest.raises(InvalidInput, match="重新训练"):
        store.load()
    manifest["format"] = FORMAT
    path.write_text(json.dumps(manifest), "utf-8")
    assert store.load().manifest.temperature == classifier.manifest.temperature
