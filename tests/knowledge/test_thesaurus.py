"""The colloquial → legal thesaurus (knowledge/data/colloquial.yaml): its shape and its words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from shuzhi.api import create_app
from shuzhi.config import Settings
from shuzhi.errors import ConfigError
from shuzhi.knowledge import KnowledgeService
from shuzhi.knowledge.thesaurus import Entry, Thesaurus, for_settings, shipped
from shuzhi.storage.db import Database
from tests.clirun import free_port, run_cli

from .test_api_cli import _headers

# Keys that would fire on almost any question and so add noise to every search.
GENERIC_KEYS = {"问题", "怎么办", "请问", "咨询", "反映", "规定", "法律", "可以", "什么", "如何"}
# One-character keys are avoided; 狗 names one thing only and predates the rule.
SHORT_KEYS_ALLOWED = {"狗"}


def raw_keys(text: str) -> list[str]:
    """The mapping's keys in file order, duplicates kept (yaml.safe_load keeps only the last)."""
    node = yaml.compose(text)
    assert isinstance(node, yaml.MappingNode)
    return [str(key.value) for key, _ in node.value]


def colloquial_terms() -> dict[str, tuple[str, ...]]:
    return {key: entry.terms for key, entry in shipped().entries.items()}


def missing_values(terms: Mapping[str, Sequence[str]], texts: Iterable[str]) -> list[str]:
    """Values that occur in none of ``texts``, as ``key → value``."""
    bodies = list(texts)
    return [
        f"{key} → {value}"
        for key, values in terms.items()
        for value in values
        if not any(value in body for body in bodies)
    ]


def is_term(value: str) -> bool:
    """A legal term (机动车交通事故责任强制保险 is the longest), not a sentence or a list."""
    return 0 < len(value) <= 16 and not any(mark in value for mark in "，。；、 ,;")


def thesaurus_text() -> str:
    return files("shuzhi.knowledge").joinpath("data/colloquial.yaml").read_text(encoding="utf-8")


def test_thesaurus_loads_with_unique_keys_and_short_word_values() -> None:
    terms = colloquial_terms()
    keys = raw_keys(thesaurus_text())

    assert len(terms) >= 300
    assert sorted(set(k for k in keys if keys.count(k) > 1)) == []
    for key, values in terms.items():
        assert len(key) >= 2 or key in SHORT_KEYS_ALLOWED, key
        assert key not in GENERIC_KEYS, key
        assert 1 <= len(values) <= 3, key
        assert all(is_term(value) for value in values), key


def test_duplicate_keys_are_detected() -> None:
    assert raw_keys("房东: [出租人]\n租客: [承租人]\n房东: [业主]\n") == ["房东", "租客", "房东"]


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("房东不退押金怎么办", {"出租人", "保证金"}),
        ("驾照被扣分了还能开车吗", {"机动车驾驶证", "记分"}),
        ("被老板炒鱿鱼了能要补偿吗", {"解除劳动合同", "用人单位"}),
        ("小区的维修基金业委会能随便用吗", {"专项维修资金", "业主委员会"}),
        ("电动车闯红灯被交警拦下", {"电动自行车", "交通信号灯", "公安机关交通管理部门"}),
        ("买到假货商家不给退款", {"假冒", "经营者", "退还货款"}),
        ("社保转到外省怎么办手续", {"社会保险", "转移接续"}),
        ("楼上装修噪音太大", {"装饰装修", "噪声"}),
    ],
)
def test_colloquial_words_expand_to_legal_terms(question: str, wanted: set[str]) -> None:
    assert wanted <= set(shipped().expand(question))


def test_question_without_colloquial_words_adds_nothing() -> None:
    assert shipped().expand("本条例自公布之日起施行") == []


def test_missing_values_names_words_absent_from_the_texts() -> None:
    terms = {"房东": ["出租人"], "押金": ["保证金", "押金条"]}
    laws = ["出租人应当按照约定交付租赁物。", "投标保证金不得超过投标总价的百分之二。"]
    assert missing_values(terms, laws) == ["押金 → 押金条"]


@pytest.mark.realdata
def test_every_value_occurs_in_the_law_corpus(shared_data: Path) -> None:
    laws = shared_data / "laws"
    texts = (p.read_text(encoding="utf-8", errors="replace") for p in laws.rglob("*.md"))
    assert missing_values(colloquial_terms(), texts) == []


# -- where a key fires ---------------------------------------------------------------------------

WHOLE_WORDS = Thesaurus(
    {
        "新招": Entry(("用工",)),
        "老楼": Entry(("既有多层住宅",)),
        "告他": Entry(("诉讼",)),
        "公司": Entry(("用人单位",)),
        "狗": Entry(("犬只",)),
    }
)


@pytest.mark.parametrize(
    ("question", "fired"),
    [
        ("公司新招的员工不签合同", {"用人单位", "用工"}),
        ("重新招标要走什么程序", set()),
        ("老楼漏水找谁修", {"既有多层住宅"}),
        ("老楼道里堆满了杂物", set()),
        ("他欠钱不还，我想告他", {"诉讼"}),
        ("我要报告他们乱收费", set()),
        ("物业公司不管小区卫生", set()),
        ("挂羊头卖狗肉的商家", set()),
        ("邻居家的狗咬了人", {"犬只"}),
    ],
)
def test_a_key_fires_only_as_whole_words(question: str, fired: set[str]) -> None:
    assert set(WHOLE_WORDS.expand(question)) == fired


def test_an_entry_marked_substring_also_fires_inside_longer_words() -> None:
    question = "单位拖欠了三个月工资"  # segmented 三个 / 月工资
    whole = Thesaurus({"工资": Entry(("劳动报酬",))})
    inside = Thesaurus({"工资": Entry(("劳动报酬",), substring=True)})

    assert whole.expand(question) == []
    assert inside.expand(question) == ["劳动报酬"]


@pytest.mark.parametrize("substring", [False, True])
def test_a_number_key_never_fires_inside_a_longer_number(substring: bool) -> None:
    numbers = Thesaurus(
        {"60天": Entry(("六十日",), substring), "12345": Entry(("市民热线",), substring)}
    )

    assert numbers.expand("工伤认定60天内作出吗") == ["六十日"]
    assert numbers.expand("60天") == ["六十日"]
    assert numbers.expand("拖了160天还没结果") == []
    assert numbers.expand("拖了600天还没结果") == []
    assert numbers.expand("打12345热线") == ["市民热线"]
    assert numbers.expand("电话是123456") == []


def test_the_shipped_keys_seen_firing_inside_other_words_no_longer_do() -> None:
    thesaurus = shipped()

    assert "六十日" not in thesaurus.expand("拖了160天还没结果")
    assert "用工" not in thesaurus.expand("学校重新招标食堂")
    assert "用人单位" not in thesaurus.expand("物业公司不管小区卫生")
    assert "诉讼" not in thesaurus.expand("我要报告他们乱收费")
    assert "犬只" not in thesaurus.expand("挂羊头卖狗肉的商家")
    assert "劳动报酬" in thesaurus.expand("单位拖欠了三个月工资")  # marked substring


# -- the deployment's own file -------------------------------------------------------------------


def overlay_settings(tmp_path: Path, text: str, encoding: str = "utf-8") -> Settings:
    path = tmp_path / "本地同义词.yaml"
    path.write_bytes(text.encode(encoding))
    return Settings(data_dir=tmp_path / "data", kb_thesaurus=path, secret_key="test-secret")


def test_a_local_file_adds_replaces_and_switches_off_entries(tmp_path: Path) -> None:
    settings = overlay_settings(
        tmp_path, "泉城办: [政务服务]\n公司: []\n工资: {terms: [工资支付], substring: true}\n"
    )

    merged = for_settings(settings)

    assert merged.expand("去泉城办办事") == ["政务服务"]
    assert "用人单位" not in merged.expand("公司不签合同")
    assert merged.expand("月工资少发了") == ["工资支付"]
    # The shipped thesaurus itself is left as it was.
    assert "用人单位" in shipped().expand("公司不签合同")
    assert shipped().expand("月工资少发了") == ["劳动报酬"]


def test_the_local_file_in_the_data_directory_is_used_by_default(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key="test-secret")
    assert for_settings(settings) is shipped()

    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "kb_thesaurus.yaml").write_text("泉城办: [政务服务]\n", encoding="utf-8")

    assert for_settings(settings).expand("去泉城办办事") == ["政务服务"]


def test_a_local_file_saved_as_gbk_is_read(tmp_path: Path) -> None:
    settings = overlay_settings(tmp_path, "# 本市用语\n泉城办: [政务服务]\n", encoding="gbk")
    assert for_settings(settings).expand("去泉城办办事") == ["政务服务"]


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("泉城办: 政务服务\n", 1, "方括号"),
        ("甲乙: [政务服务]\n泉城办: [[政务, 服务]]\n", 2, "不能为空或嵌套"),
        ("甲乙: [政务服务]\n泉城办: {terms: [政务服务], exact: true}\n", 2, "多了 exact"),
        ("泉城办: {terms: [政务服务], substring: maybe}\n", 1, "只能是 true 或 false"),
        ("泉城办: {substring: true}\n", 1, "terms 应是方括号"),
        ("泉城办: [政务服务]\n\n泉城办: [便民服务]\n", 3, "重复"),
        ("- 泉城办\n- 政务服务\n", 1, "口语词: [法律用语"),
        ("甲乙: [政务服务]\n泉城办: [政务服务\n丙丁: [便民]\n", 3, "YAML 格式错误"),
    ],
)
def test_a_bad_local_file_is_one_error_naming_the_file_and_line(
    tmp_path: Path, text: str, line: int, says: str
) -> None:
    settings = overlay_settings(tmp_path, text)

    with pytest.raises(ConfigError) as raised:
        for_settings(settings)

    message = str(raised.value)
    assert f"同义词表 {settings.kb_thesaurus}" in message
    assert f"第 {line} 行" in message and says in message


def test_a_missing_local_file_named_in_the_settings_is_an_error(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, kb_thesaurus=tmp_path / "没有.yaml", secret_key="test-secret"
    )
    with pytest.raises(ConfigError) as raised:
        for_settings(settings)
    assert f"无法读取同义词表 {tmp_path / '没有.yaml'}：文件不存在" in str(raised.value)


def test_search_uses_the_local_file(db: Database, settings: Settings, corpus: Path) -> None:
    question = "员工喝断片了摔伤算不算工伤"  # 断片 is nowhere in the shipped thesaurus
    shipped_only = KnowledgeService(db, settings)
    shipped_only.create("法规库")
    assert shipped_only.import_paths("法规库", [corpus]).ok
    before = shipped_only.search("法规库", question, k=1)[0].anchor

    path = settings.data_dir / "kb_thesaurus.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("断片: [醉酒]\n", encoding="utf-8")
    local = KnowledgeService(db, settings)

    assert before != "第三条之一"
    assert local.search("法规库", question, k=1)[0].anchor == "第三条之一"


@pytest.mark.parametrize(
    "args",
    [
        ("kb", "search", "法规库", "公司不发工资"),
        ("serve", "--port", "{free}"),  # found before the server listens, not at the first search
    ],
)
def test_the_command_line_names_a_bad_local_file_in_one_line(
    args: tuple[str, ...],
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "local.yaml"
    bad.write_text("泉城办: [政务服务]\n公司: 用人单位\n", encoding="utf-8")
    for name, value in {**env, "SHUZHI_KB_THESAURUS": str(bad)}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: pytest.fail("served with a bad thesaurus"))

    run = run_cli(monkeypatch, capsys, *(a.format(free=free_port()) for a in args))

    assert run.returncode == 2
    assert f"同义词表 {bad} 第 2 行" in run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_the_api_answers_knowledge_requests_with_the_bad_file_and_line(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    bad = tmp_path / "local.yaml"
    bad.write_text("公司: 用人单位\n", encoding="utf-8")
    client = TestClient(create_app(settings.model_copy(update={"kb_thesaurus": bad}), db))
    op, _, _ = _headers(db)

    found = client.get("/api/kb/法规库/search", params={"q": "公司不发工资"}, headers=op)

    assert found.status_code == 500
    message = found.json()["error"]["message"]
    assert f"同义词表 {bad} 第 1 行：“公司”后应是方括号中的法律用语" in message
