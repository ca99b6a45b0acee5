"""A seeded, generated evaluation set for PII detection, and the scoring that goes with it.

Sentences in the style of hotline messages and service requests carry planted items of every
kind, written the ways people write them (separators, +86, full-width digits, lower-case x), next
to decoys that must not be taken: order and tracking numbers, timestamps, amounts, the 12345
hotline, ID-shaped case numbers, card numbers failing the Luhn check, credit codes. An ID number
with a wrong check digit right after 身份证 / 证件号 is planted as an item, not a decoy: it is
still the person's number and must be masked.
Every value is made up here; no real person's data is involved.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from shuzhi.cn.ids import PLATE_PROVINCES, credit_check_char, id_check_digit, luhn_ok
from shuzhi.cn.regions import region_table
from shuzhi.privacy.spans import PiiKind, PiiSpan

__all__ = ["EvalCase", "Score", "evaluate", "generate"]

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文斌宇浩凯鹏飞晨雪梅"
_PLACES = ["历下区", "市中区", "槐荫区", "天桥区", "历城区", "长清区", "章丘区", "莱芜区", "A3区"]
_ESTATES = ["阳光花园", "幸福小区", "泉城新居", "舜耕苑", "绿地国际城", "鲁能领秀城", "东方名府"]
_MOBILE_PREFIXES = [
    "130",
    "133",
    "135",
    "136",
    "138",
    "139",
    "150",
    "152",
    "157",
    "158",
    "166",
    "176",
    "177",
    "180",
    "182",
    "186",
    "187",
    "189",
    "191",
    "198",
    "199",
]
_AREA_CODES = [
    "0531",
    "0532",
    "0533",
    "0535",
    "0536",
    "0537",
    "0538",
    "0539",
    "0543",
    "0631",
    "010",
    "021",
    "022",
    "020",
    "023",
    "025",
    "027",
    "028",
    "029",
    "0371",
    "0755",
]
_BINS = [
    ("622202", 19), ("621700", 19), ("622848", 19), ("955880", 19), ("622588", 16),
    ("436742", 16), ("625965", 16), ("622700", 19), ("621226", 19), ("524374", 16),
]  # fmt: skip
_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "example.com", "mail.jinan.gov.cn"]
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_PLATE_CHARS = _PLATE_LETTERS + string.digits


@dataclass(frozen=True)
class EvalCase:
    """One generated text and the items a perfect detector finds in it."""

    text: str
    items: list[tuple[PiiKind, int, int]]


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        planted = self.true_positives + self.false_negatives
        return self.true_positives / planted if planted else 1.0


class _Faker:
    """Makes valid items and near-miss decoys from one random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def digits(self, n: int, first: str = string.digits) -> str:
        return self.rng.choice(first) + "".join(self.rng.choices(string.digits, k=n - 1))

    def name(self) -> str:
        return self.rng.choice(_SURNAMES) + "".join(
            self.rng.choices(_GIVEN, k=self.rng.randint(1, 2))
        )

    def id17(self) -> str:
        table = region_table()
        region = self.rng.choice([*table.counties, *(p + "0102" for p in table.provinces)])
        birth = date(1940, 1, 1) + timedelta(days=self.rng.randrange(365 * 70))
        return f"{region}{birth:%Y%m%d}{self.digits(3)}"

    def id_number(self) -> str:
        first17 = self.id17()
        number = first17 + id_check_digit(first17)
        style = self.rng.random()
        if style < 0.1:
            return number.lower()
        if style < 0.15:
            return f"{number[:6]} {number[6:14]} {number[14:]}"
        return number

    def bad_id_number(self) -> str:
        first17 = self.id17()
        right = id_check_digit(first17)
        return first17 + self.rng.choice([c for c in "0123456789X" if c != right])

    def case_number(self) -> str:
        """A region code, a recent date and a sequence number, as many case numbers are built:
        ID-shaped, but with a wrong check digit and no word announcing an ID number."""
        while True:
            day = f"2024{self.rng.randint(1, 12):02d}{self.rng.randint(1, 28):02d}"
            number = self.bad_id_number()[:6] + day + self.digits(4)
            if id_check_digit(number[:17]) != number[17]:
                return number

    def mobile(self) -> str:
        number = self.rng.choice(_MOBILE_PREFIXES) + self.digits(8)
        style = self.rng.random()
        if style < 0.6:
            return number
        if style < 0.7:
            return f"+86{number}"
        if style < 0.8:
            return f"+86 {number[:3]} {number[3:7]} {number[7:]}"
        if style < 0.9:
            return f"{number[:3]}-{number[3:7]}-{number[7:]}"
        return number.translate({ord(d): ord(d) + 0xFEE0 for d in string.digits})

    def landline(self) -> str:
        area = self.rng.choice(_AREA_CODES)
        local = self.digits(8 if len(area) == 3 else self.rng.choice([7, 8]), "2345678")
        style = self.rng.random()
        if style < 0.6:
            number = f"{area}-{local}"
        elif style < 0.75:
            number = f"({area}){local}"
        elif style < 0.9:
            number = f"（{area}）{local}"
        else:
            number = f"{area}{local}"
        return number + (f"转{self.digits(3)}" if self.rng.random() < 0.1 else "")

    def card_body(self) -> str:
        prefix, length = self.rng.choice(_BINS)
        return prefix + self.digits(length - len(prefix) - 1)

    def bank_card(self) -> str:
        body = self.card_body()
        number = body + next(d for d in string.digits if luhn_ok(body + d))
        if self.rng.random() < 0.3:
            return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        return number

    def bad_bank_card(self) -> str:
        body = self.card_body()
        return body + next(d for d in string.digits if not luhn_ok(body + d))

    def email(self) -> str:
        local = "".join(self.rng.choices(string.ascii_lowercase, k=self.rng.randint(3, 8)))
        if self.rng.random() < 0.4:
            local += self.rng.choice([".", "_", ""]) + self.digits(self.rng.randint(2, 6))
        if self.rng.random() < 0.2:
            local = self.digits(self.rng.randint(6, 10), "123456789")  # QQ mail
        return f"{local}@{self.rng.choice(_DOMAINS)}"

    def plate(self) -> str:
        head = self.rng.choice(PLATE_PROVINCES) + self.rng.choice(_PLATE_LETTERS)
        style = self.rng.random()
        if style < 0.2:
            return head + self.rng.choice("DF") + self.rng.choice(_PLATE_CHARS) + self.digits(4)
        if style < 0.25:
            return head + self.digits(5) + self.rng.choice("DF")
        tail = "".join(self.rng.choices(_PLATE_CHARS, k=4)) + self.rng.choice(string.digits)
        return head + tail

    def dotted_mobile(self) -> str:
        number = self.rng.choice(_MOBILE_PREFIXES) + self.digits(8)
        return f"{number[:3]}.{number[3:7]}.{number[7:]}"

    def local_landline(self) -> str:
        return self.digits(8, "2345678")

    def lower_plate(self) -> str:
        return self.plate().lower()

    def passport(self) -> str:
        if self.rng.random() < 0.5:
            return "E" + self.digits(8)
        return "E" + self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + self.digits(7)

    def credit_code(self) -> str:
        first17 = (
            "9137" + self.digits(4) + "MA" + "".join(self.rng.choices("0123456789ABCDEF", k=7))
        )
        return first17 + credit_check_char(first17)


_ITEM_TEMPLATES: list[tuple[str, PiiKind, str]] = [
    ("本人身份证号{v}，", PiiKind.ID_NUMBER, "id_number"),
    ("证件号码：{v}。", PiiKind.ID_NUMBER, "id_number"),
    # A mistyped ID number after the word that announces it is still the person's number.
    ("证件号{v}系录入错误，", PiiKind.ID_NUMBER, "bad_id_number"),
    ("联系电话{v}，", PiiKind.MOBILE, "mobile"),
    ("请回电至{v}。", PiiKind.MOBILE, "mobile"),
    ("手机：{v}（白天）", PiiKind.MOBILE, "mobile"),
    ("单位座机{v}，", PiiKind.LANDLINE, "landline"),
    ("物业电话是{v}但无人接听。", PiiKind.LANDLINE, "landline"),
    ("办公室电话：{v}，", PiiKind.LANDLINE, "local_landline"),
    ("退款请打到银行卡{v}。", PiiKind.BANK_CARD, "bank_card"),
    ("工资卡号：{v}，", PiiKind.BANK_CARD, "bank_card"),
    ("邮箱{v}，", PiiKind.EMAIL, "email"),
    ("材料已发至 {v} 请查收。", PiiKind.EMAIL, "email"),
    ("车牌号为{v}的车辆长期占用消防通道，", PiiKind.PLATE, "plate"),
    ("一辆{v}渣土车夜间施工，", PiiKind.PLATE, "plate"),
    ("护照号码：{v}，", PiiKind.PASSPORT, "passport"),
]

_DECOYS: list[Callable[[_Faker], str]] = [
    lambda f: "请拨打12345市民服务热线。",
    lambda f: "已向0531-12345反映多次。",
    lambda f: f"订单号{f.digits(20, '123456789')}仍未发货，",
    lambda f: f"快递单号SF{f.digits(13)}，",
    lambda f: f"流水号{f.digits(19, '123456789')}{f.digits(3)}，",
    lambda f: f"时间戳{f.digits(13, '1')}，",
    lambda f: (
        f"于2024-0{f.rng.randint(1, 9)}-1{f.rng.randint(0, 9)} 1{f.rng.randint(0, 9)}:30:00来电，"
    ),
    lambda f: f"项目总投资{f.digits(11, '1')}元，",
    lambda f: f"补贴{f.rng.randint(100, 9999)}.{f.rng.randint(10, 99)}元，",
    lambda f: f"受理编号{f.case_number()}，",
    lambda f: f"身份证尾号{f.digits(4)}，",
    lambda f: f"卡号{f.bad_bank_card()}无效，",
    lambda f: f"统一社会信用代码{f.credit_code()}，",
    lambda f: f"依据条例第{f.rng.randint(1, 99)}条，",
    lambda f: f"邮编250{f.digits(3)}，",
    lambda f: f"QQ群{f.digits(9, '123456789')}，",
    lambda f: f"产品型号E{f.digits(8)}，",
    lambda f: f"发票号码{f.digits(8)}，",
    lambda f: f"{f.rng.choice(_ESTATES)}{f.rng.randint(1, 30)}号楼{f.rng.randint(1, 6)}单元",
]


# Forms the detector is known to get wrong, kept apart so the benchmark can show the limits:
# digits glued to Latin letters, dotted phone numbers, local numbers with neither an area code
# nor a word such as 电话 before them, lower-case plates, ID numbers with a wrong check digit and
# no word such as 身份证 before them; and decoys that are indistinguishable
# from a real item without context.
_HARD_ITEM_TEMPLATES: list[tuple[str, PiiKind, str]] = [
    ("TEL{v}，", PiiKind.MOBILE, "mobile"),
    ("电话{v}，", PiiKind.MOBILE, "dotted_mobile"),
    ("另一部{v}，", PiiKind.LANDLINE, "local_landline"),
    ("车牌{v}，", PiiKind.PLATE, "lower_plate"),
    ("户籍登记为{v}，", PiiKind.ID_NUMBER, "bad_id_number"),
]
_HARD_DECOYS: list[Callable[[_Faker], str]] = [
    lambda f: f"档案编号{f.rng.choice(_MOBILE_PREFIXES)}{f.digits(8)}，",
    lambda f: f"运单号{f.bank_card().replace(' ', '')}，",
]


def generate(n: int, seed: int = 0, *, hard: bool = False) -> list[EvalCase]:
    """``n`` cases; the same seed always gives the same cases.

    With ``hard`` the cases also carry the forms listed in ``_HARD_ITEM_TEMPLATES`` and
    ``_HARD_DECOYS``, which the detector is known to miss or mistake.
    """
    rng = random.Random(seed)
    faker = _Faker(rng)
    return [_case(faker, hard) for _ in range(n)]


def _case(f: _Faker, hard: bool) -> EvalCase:
    text = f"{f.name()}来电反映：{f.rng.choice(_PLACES)}{f.rng.choice(_ESTATES)}"
    items: list[tuple[PiiKind, int, int]] = []
    templates = _ITEM_TEMPLATES + (_HARD_ITEM_TEMPLATES if hard else [])
    pieces = [*f.rng.sample(templates, k=f.rng.randint(1, 4))]
    decoys = f.rng.sample(_DECOYS + (_HARD_DECOYS if hard else []), k=f.rng.randint(1, 4))
    order = pieces + decoys
    f.rng.shuffle(order)
    for piece in order:
        if isinstance(piece, tuple):
            template, kind, maker = piece
            value = getattr(f, maker)()
            start = len(text) + template.index("{v}")
            items.append((kind, start, start + len(value)))
            text += template.format(v=value)
        else:
            text += piece(f)
    return EvalCase(text=text + "望尽快处理。", items=items)


def evaluate(
    cases: Iterable[EvalCase], detect: Callable[[str], list[PiiSpan]]
) -> dict[PiiKind, Score]:
    """Exact-span precision and recall per kind (a span must match kind, start and end)."""
    scores: dict[PiiKind, Score] = {}
    for case in cases:
        gold = set(case.items)
        found = {(s.kind, s.start, s.end) for s in detect(case.text)}
        for kind, start, end in found | gold:
            score = scores.setdefault(kind, Score())
            snippet = case.text[start:end]
            if (kind, start, end) in gold and (kind, start, end) in found:
                score.true_positives += 1
            elif (kind, start, end) in found:
                score.false_positives += 1
                score.false_alarms.append(snippet)
            else:
                score.false_negatives += 1
                score.misses.append(snippet)
    return scores
