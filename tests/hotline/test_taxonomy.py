"""The department's three-level taxonomy: loaded, used to place orders, refused as input."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from shuzhi.config import Settings
from shuzhi.errors import InvalidInput
from shuzhi.scenarios.hotline.batch import BatchJob
from shuzhi.scenarios.hotline.classifier import DispatchClassifier
from shuzhi.scenarios.hotline.importing import import_file
from shuzhi.scenarios.hotline.service import model_store, run_batch
from shuzhi.scenarios.hotline.taxonomy import load_taxonomy

ROWS = [
    ("城乡建设", "住房保障与房地产", "住房公积金"),
    ("城乡建设", "城市建设和市政管理", "小区管理"),
    ("城乡建设", "城市建设和市政管理", "其他"),
    ("城乡建设", "城乡规划", "违章建筑"),
    ("环境保护", "环境污染", "噪声污染"),
    ("环境保护", "环境污染", "其他"),
    ("交通运输", "公路", None),
]


@pytest.fixture
def taxonomy_xlsx(tmp_path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["一级分类", "二级分类", "三级分类"])
    for row in ROWS:
        sheet.append(list(row))
    path = tmp_path / "taxonomy.xlsx"
    book.save(path)
    return path


def test_load_keeps_the_tree(taxonomy_xlsx: Path) -> None:
    taxonomy = load_taxonomy(taxonomy_xlsx)
    assert taxonomy.top_levels == ["城乡建设", "环境保护", "交通运输"]
    assert ("住房保障与房地产", "住房公积金") in taxonomy.branches["城乡建设"]
    assert taxonomy.branches["交通运输"] == [("公路", "")]
    assert taxonomy.unknown(["城乡建设", "教育文体"]) == ["教育文体"]


def test_path_goes_as_deep_as_the_text_supports(taxonomy_xlsx: Path) -> None:
    taxonomy = load_taxonomy(taxonomy_xlsx)
    assert taxonomy.path("城乡建设", "请问住房公积金怎么提取？") == [
        "城乡建设",
        "住房保障与房地产",
        "住房公积金",
    ]
    noise = taxonomy.path("环境保护", "小区旁边工地夜间施工噪声污染严重")
    assert noise == ["环境保护", "环境污染", "噪声污染"]
    # Nothing of the branch is mentioned, and "其他" is never matched: the first level only.
    assert taxonomy.path("城乡建设", "其他问题反映") == ["城乡建设"]
    assert taxonomy.path("教育文体", "学校乱收费") == ["教育文体"]


def test_batch_places_orders_on_the_taxonomy(
    taxonomy_xlsx: Path, classifier: DispatchClassifier, tmp_path: Path
) -> None:
    messages = tmp_path / "m.csv"
    messages.write_text("留言详情,一级分类\nA3区阳光新村小区违章建筑占用绿地,城乡建设\n", "utf-8")
    job = BatchJob(classifier, taxonomy=load_taxonomy(taxonomy_xlsx))
    order = job.run(messages).orders[0]
    assert order.dispatch.category == "城乡建设"
    assert order.category_path == ["城乡建设", "城乡规划", "违章建筑"]


def test_a_taxonomy_given_as_messages_gets_a_clear_message(taxonomy_xlsx: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        import_file(taxonomy_xlsx)
    assert "分类体系表" in info.value.message and "不是市民留言" in info.value.message
    assert "--taxonomy" in (info.value.hint or "")


def test_a_file_without_level_columns_is_not_a_taxonomy(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("类别,名称\n城乡建设,住房\n", "utf-8")
    with pytest.raises(InvalidInput, match="不是分类体系文件"):
        load_taxonomy(path)


def test_the_batch_refuses_a_taxonomy_before_training_anything(
    taxonomy_xlsx: Path, sample_files: tuple[Path, Path], tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret")
    with pytest.raises(InvalidInput, match="分类体系表"):
        run_batch(settings, taxonomy_xlsx, history=sample_files[0], out_dir=tmp_path / "out")
    assert model_store(settings).versions() == []
