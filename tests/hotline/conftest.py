"""Fixtures written by the tests themselves: messy spreadsheets, GBK CSV, an invented history."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.styles import Font

from shuzhi.scenarios.hotline.classifier import DispatchClassifier, train
from shuzhi.scenarios.hotline.demo import write_sample
from shuzhi.scenarios.hotline.service import load_history

HEADER = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "一级分类", "点赞数"]


@pytest.fixture(scope="session")
def sample_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(history.csv, messages.csv): invented labelled history and a batch, from demo.py."""
    return write_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def classifier(sample_files: tuple[Path, Path]) -> DispatchClassifier:
    texts, labels = load_history(sample_files[0])
    return train(texts, labels, source="fixture")


@pytest.fixture
def messy_xlsx(tmp_path: Path) -> Path:
    """Scraping whitespace, three date forms, a blank row, a row with no text, a bad date,
    and hundreds of empty formatted rows after the data, like the files people really send."""
    wb = Workbook()
    ws = wb.active
    ws.append(["热线留言导出"])  # a title row above the header
    ws.append(HEADER)
    ws.append(
        [
            1,
            "A0001",
            "A市A3区联丰路积水",
            "2019/2/28 11:25:05",
            "\n\t\t\t\t\t\n\t\t\t\t\tA市A3区联丰路阳光新村门口下雨积水严重，请尽快处理。\n\t\t",
            "城乡建设",
            3,
        ]
    )
    ws.append(
        [
            2,
            "A0002",
            "咨询社保缴纳",
            "2017-06-08 17:31:20",
            "请问灵活就业人员社保怎么缴纳？我的电话13812345678。",
            "劳动和社会保障",
            0,
        ]
    )
    ws.append(
        [
            3,
            "A0003",
            "油烟扰民",
            datetime(2019, 9, 27, 9, 0),
            "A2区书香家园旁餐馆油烟直排，噪音扰民。",
            "环境保护",
            "5",
        ]
    )
    ws.append([None] * 7)
    ws.append([4, "A0004", None, "2019/3/1 8:00:00", "   ", None, 0])
    ws.append([5, "A0005", "公交线路建议", "上个月", "建议增设公交线路。", "交通运输", 1])
    for row in range(ws.max_row + 1, ws.max_row + 700):
        ws.cell(row=row, column=2).font = Font(bold=True)  # formatted but empty
    path = tmp_path / "messy.xlsx"
    wb.save(path)
    return path


@pytest.fixture
def gbk_csv(tmp_path: Path) -> Path:
    path = tmp_path / "gbk.csv"
    rows = [
        ",".join(HEADER[:6]),
        "10,U1,小区停水,2019/5/1 10:00:00,A5区锦绣花园小区停水两天了，老人孩子没水用,城乡建设",
        "11,U2,,2019-05-02 09:30:00,学校乱收费，请教育局查处,教育文体",
    ]
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("gbk"))
    return path
