from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.errors import InvalidInput, NotFound
from shuzhi.scenarios.hotline.classifier import (
    DispatchClassifier,
    ModelStore,
    cross_validate,
    deduplicate,
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
