"""Inputs for ``shuzhi hotline demo``: the shared public data when present, else a sample we
generate ourselves (invented messages written from templates, no real person in them)."""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from shuzhi.config import Settings

SHARED_HOTLINE = Path("hotline")
SAMPLE_SEED = 12345

_PLACES = [
    ("A1区", "芙蓉路", "桂花苑小区"),
    ("A2区", "湘江大道", "书香家园"),
    ("A3区", "联丰路", "阳光新村"),
    ("A5区", "人民路", "锦绣花园"),
    ("A7县", "东风路", "幸福里小区"),
]
_TEMPLATES: dict[str, list[str]] = {
    "城乡建设": [
        "{district}{road}{estate}物业不作为，电梯经常故障，请相关部门尽快处理。",
        "{district}{estate}小区内违章搭建严重，占用消防通道，希望住建部门查处。",
        "{district}{road}道路施工一年多还没完工，坑洼不平，什么时候能修好？",
        "{estate}开发商延期交房两年，业主多次反映无果，请政府督促开发商交房。",
    ],
    "环境保护": [
        "{district}{road}附近工厂夜间偷排废气，气味刺鼻，请环保部门调查。",
        "{estate}旁边的餐馆油烟直排，噪音扰民，严重影响居民休息。",
        "{district}{road}河道污染严重，垃圾漂浮，希望尽快治理。",
    ],
    "交通运输": [
        "{district}{road}公交站点太少，早高峰打不到车，建议增设公交线路。",
        "{road}出租车拒载绕路，乱收费，请交通部门整治。",
        "{district}{road}路口红绿灯时间设置不合理，经常堵车。",
    ],
    "教育文体": [
        "{estate}的孩子入学划片不合理，离学校太远，请问能否调整学区？",
        "{district}某培训机构收费后跑路，家长学费无法退还，请教育局处理。",
        "{district}小学课后服务收费是否合规？想咨询一下收费标准。",
    ],
    "劳动和社会保障": [
        "{district}{road}一家公司拖欠农民工工资三个月，请劳动监察部门帮忙追讨。",
        "请问灵活就业人员的社保怎么缴纳？在{district}哪里办理？",
        "公司不给员工缴纳社保，也不签劳动合同，想投诉。",
    ],
    "卫生计生": [
        "{district}某医院收费不透明，检查项目重复收费，请卫健部门核查。",
        "请问二孩生育登记需要什么材料？在{district}哪里办理？",
        "{estate}附近的诊所无证行医，存在安全隐患，请查处。",
    ],
    "商贸旅游": [
        "{district}{road}商场预付卡消费后商家关门，消费者无法退款。",
        "在{district}景区购物被强制消费，导游态度恶劣，投诉该旅行社。",
        "{road}菜市场缺斤少两，希望市场监管部门加强检查。",
    ],
}


@dataclass(frozen=True)
class DemoInputs:
    input_path: Path
    history: Path
    description: str
    taxonomy: Path | None = None


def shared_data_dir(cwd: Path | None = None) -> Path | None:
    """``SHUZHI_SHARED_DATA`` or ``../shared/data`` from the working directory, when it exists."""
    configured = os.environ.get("SHUZHI_SHARED_DATA")
    candidate = Path(configured) if configured else (cwd or Path.cwd()).parent / "shared" / "data"
    hotline = candidate / SHARED_HOTLINE
    return candidate if (hotline / "messages_labelled.csv").is_file() else None


def demo_inputs(settings: Settings, cwd: Path | None = None) -> DemoInputs:
    shared = shared_data_dir(cwd)
    if shared is not None:
        folder = shared / SHARED_HOTLINE
        return DemoInputs(
            folder / "messages_sample.xlsx",
            folder / "messages_labelled.csv",
            f"公开数据 {folder}（留言样例 + 带分类的历史留言 + 三级分类体系）",
            taxonomy=_existing(folder / "category_taxonomy.xlsx"),
        )
    folder = settings.data_dir / "hotline-demo" / "sample"
    history, messages = write_sample(folder)
    return DemoInputs(messages, history, f"项目自带的模拟样例 {folder}（虚构留言，非真实数据）")


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def _message(rng: random.Random, category: str) -> str:
    district, road, estate = rng.choice(_PLACES)
    text = rng.choice(_TEMPLATES[category]).format(district=district, road=road, estate=estate)
    return f"A市{text}" if rng.random() < 0.5 else text


def write_sample(folder: Path, history_size: int = 420, input_size: int = 80) -> tuple[Path, Path]:
    """Write an invented labelled history and a fresh batch of messages; same seed, same files."""
    rng = random.Random(SAMPLE_SEED)
    folder.mkdir(parents=True, exist_ok=True)
    history, messages = folder / "history.csv", folder / "messages.csv"
    categories = sorted(_TEMPLATES)
    with history.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["留言编号", "留言主题", "留言详情", "一级分类"])
        for i in range(history_size):
            category = categories[i % len(categories)]
            writer.writerow([f"H{i:05d}", "", _message(rng, category), category])
    start = datetime(2026, 11, 2, 9)
    with messages.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["留言编号", "留言用户", "留言时间", "留言详情", "一级分类", "点赞数"])
        for i in range(input_size):
            category = rng.choice(categories)
            when = start + timedelta(hours=7 * i)
            writer.writerow(
                [
                    f"M{i:05d}",
                    f"U{rng.randrange(10**8):08d}",
                    when.strftime("%Y/%m/%d %H:%M:%S"),
                    _message(rng, category),
                    category,
                    rng.randrange(0, 20),
                ]
            )
    return history, messages
