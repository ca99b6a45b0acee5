"""The functions a scenario expression may call. This dict is the whole allow-list.

Chinese identifier rules (ID check digits, credit codes) and the working-day calendar live in
:mod:`shuzhi.cn`; the functions here only adapt them to expressions.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from shuzhi.errors import InvalidInput


def to_date(value: Any) -> date | None:
    """A date from a date, an ISO string (``2024-03-01``) or ``2024年3月1日``; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", text)
    if not match:
        raise InvalidInput(f"无法识别的日期：{text!r}", hint="日期请写成 2024-03-01")
    year, month, day = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise InvalidInput(f"日期不存在：{text!r}", hint="检查年月日") from exc


def _days_between(start: Any, end: Any) -> int:
    a, b = to_date(start), to_date(end)
    if a is None or b is None:
        raise InvalidInput("计算日期间隔需要两个日期")
    return (b - a).days


def _add_days(start: Any, days: int) -> date:
    day = to_date(start)
    if day is None:
        raise InvalidInput("日期为空，无法推算期限")
    return day + timedelta(days=int(days))


def _add_months(start: Any, months: int) -> date:
    day = to_date(start)
    if day is None:
        raise InvalidInput("日期为空，无法推算期限")
    index = day.year * 12 + day.month - 1 + int(months)
    year, month = divmod(index, 12)
    for candidate in range(day.day, 27, -1):
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    return date(year, month + 1, min(day.day, 28))


def _full_years(start: Any, end: Any) -> int:
    a, b = to_date(start), to_date(end)
    if a is None or b is None:
        raise InvalidInput("计算年数需要两个日期")
    return b.year - a.year - ((b.month, b.day) < (a.month, a.day))


def _add_working_days(start: Any, days: int) -> date:
    from shuzhi.cn.calendar import default_calendar

    day = to_date(start)
    if day is None:
        raise InvalidInput("日期为空，无法推算工作日期限")
    due: date = default_calendar().add_working_days(day, int(days)).date
    return due


def _working_days_between(start: Any, end: Any) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when end is earlier)."""
    from shuzhi.cn.calendar import default_calendar

    a, b = to_date(start), to_date(end)
    if a is None or b is None:
        raise InvalidInput("计算工作日需要两个日期")
    count: int = default_calendar().working_days_between(a, b)
    return count


def _id_info(value: Any) -> Any:
    from shuzhi.cn.ids import parse_id_number

    return parse_id_number(str(value or "").strip())


def _is_valid_id_number(value: Any) -> bool:
    return bool(value) and bool(_id_info(value).valid)


def _id_birth_date(value: Any) -> date | None:
    info = _id_info(value)
    return info.birth_date if info.valid else None


def _id_gender(value: Any) -> str | None:
    info = _id_info(value)
    return info.sex if info.valid else None


def _is_valid_credit_code(value: Any) -> bool:
    from shuzhi.cn.ids import parse_credit_code

    return bool(value) and bool(parse_credit_code(str(value).strip()).valid)


def _is_mobile(value: Any) -> bool:
    from shuzhi.cn.ids import is_mobile

    return bool(is_mobile(str(value or "")))


def _display(value: Any) -> str:
    from shuzhi.scenarios.expr import as_text

    return as_text(value)


def _words(words: Any) -> list[str]:
    if isinstance(words, str):
        return [words]
    return [str(w) for w in words or []]


def _found(text: Any, words: Any) -> list[str]:
    """The words of ``words`` that occur in ``text``, in the order given, each once."""
    haystack = _as_text(text)
    return [w for w in dict.fromkeys(_words(words)) if w and w in haystack]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "\n".join(_as_text(v) for v in value)
    return str(value)


def _missing(required: Any, provided: Any) -> list[str]:
    """Items of ``required`` not in ``provided`` (a list, or a text searched for each item)."""
    if isinstance(provided, str):
        return [r for r in _words(required) if r not in provided]
    have = {str(p).strip() for p in provided or []}
    return [r for r in _words(required) if r not in have]


def _find_all(text: Any, pattern: str) -> list[str]:
    found = re.findall(pattern, _as_text(text))
    return [f if isinstance(f, str) else f[0] for f in found]


def _first_match(text: Any, pattern: str) -> str | None:
    match = re.search(pattern, _as_text(text))
    if match is None:
        return None
    return match.group(1) if match.groups() else match.group(0)


def _number(value: Any) -> float | None:
    """A number from a number or a text like ``1,200.5万元`` (万 and 亿 are applied)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).replace(",", "").replace("，", "").strip()
    match = re.search(r"-?\d+(?:\.\d+)?", text)
    if match is None:
        raise InvalidInput(f"无法识别的数值：{text!r}", hint="请填写数字，例如 1200 或 12.5万")
    number = float(match.group(0))
    rest = text[match.end() :]
    if rest.startswith("亿"):
        number *= 100_000_000
    elif rest.startswith("万"):
        number *= 10_000
    return number


def _pluck(items: Any, key: str) -> list[Any]:
    return [item.get(key) if isinstance(item, Mapping) else None for item in items or []]


def _shared(items: Any, key: str, label: str = "name") -> list[list[Any]]:
    """Groups (by ``label``) of two or more items that share a non-empty value of ``key``."""
    groups: dict[str, list[Any]] = defaultdict(list)
    for item in items or []:
        value = item.get(key) if isinstance(item, Mapping) else None
        if value not in (None, ""):
            groups[str(value).strip().lower()].append(item.get(label))
    return [members for members in groups.values() if len(members) > 1]


def _bigrams(text: str) -> set[str]:
    clean = re.sub(r"\s+", "", text)
    return {clean[i : i + 2] for i in range(len(clean) - 1)} or ({clean} if clean else set())


def _similarity(a: Any, b: Any) -> float:
    """Jaccard similarity of character bigrams: 1.0 for identical texts, 0.0 for unrelated."""
    x, y = _bigrams(_as_text(a)), _bigrams(_as_text(b))
    if not x or not y:
        return 0.0
    return round(len(x & y) / len(x | y), 4)


def _similar_pairs(items: Any, key: str, threshold: float, label: str = "name") -> list[list[Any]]:
    """Pairs of items whose ``key`` texts are at least ``threshold`` similar."""
    rows = [i for i in items or [] if isinstance(i, Mapping)]
    pairs = []
    for i, left in enumerate(rows):
        for right in rows[i + 1 :]:
            if _similarity(left.get(key), right.get(key)) >= threshold:
                pairs.append([left.get(label), right.get(label)])
    return pairs


def _regular_steps(values: Any, tolerance: float = 0.001) -> bool:
    """True when three or more numbers, sorted, step by an equal difference or an equal ratio.

    Bids priced in arithmetic or geometric progression are a sign that one hand wrote them
    (招标投标法实施条例 Art. 40(4): 投标报价呈规律性差异).
    """
    nums = sorted(float(v) for v in values or [] if v is not None)
    if len(nums) < 3 or nums[0] <= 0:
        return False
    diffs = [b - a for a, b in itertools.pairwise(nums)]
    ratios = [b / a for a, b in itertools.pairwise(nums)]
    same_diff = max(diffs) - min(diffs) <= tolerance * nums[-1] and diffs[0] > 0
    same_ratio = max(ratios) - min(ratios) <= tolerance and ratios[0] > 1
    return same_diff or same_ratio


def _range(*args: int) -> range:
    bounded = range(*(int(a) for a in args))
    if len(bounded) > 100_000:
        raise InvalidInput("range() 的范围过大（上限 100000）")
    return bounded


def _count_chars(text: Any) -> int:
    return len(re.sub(r"\s+", "", _as_text(text)))


def _round(value: Any, digits: int = 0) -> float:
    number = _number(value) or 0.0
    # Half-up rounding as money is rounded on forms, not Python's banker's rounding.
    factor = float(10 ** int(digits))
    return math.floor(number * factor + 0.5) / factor


def _count_where(items: Any, key: str, value: Any) -> int:
    return sum(1 for i in items or [] if isinstance(i, Mapping) and i.get(key) == value)


def _top(counts: Mapping[str, Any], n: int = 3) -> list[str]:
    ranked = sorted(counts.items(), key=lambda kv: (-float(kv[1]), kv[0]))
    return [k for k, _ in ranked[: int(n)]]


def _tally(values: Iterable[Any]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for value in values or []:
        counts[str(value)] += 1
    return dict(counts)


def _in_range(value: Any, low: Any, high: Any) -> bool:
    number = _number(value)
    return number is not None and float(low) <= number <= float(high)


def _ratio(part: Any, whole: Any) -> float:
    numerator, denominator = _number(part) or 0.0, _number(whole) or 0.0
    return 0.0 if denominator == 0 else numerator / denominator


def _keys(value: Any) -> list[str]:
    return list(value) if isinstance(value, Mapping) else []


def _today() -> date:
    return date.today()


def _iso(value: Any) -> str:
    day = to_date(value)
    return day.isoformat() if day else ""


def _zh_date(value: Any) -> str:
    day = to_date(value)
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict | tuple) and len(value) == 0)


def _unique(values: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(values or []))


def _duplicates(values: Sequence[Any]) -> list[Any]:
    counts = _tally(values)
    return [v for v in _unique(values) if counts[str(v)] > 1]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # plain Python, harmless
    "len": len,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "int": int,
    "float": float,
    "str": str,
    "text": lambda value: _display(value),
    "bool": bool,
    "sorted": sorted,
    "any": any,
    "all": all,
    "list": list,
    "range": _range,
    "round": _round,
    # text
    "found": _found,
    "contains_any": lambda text, words: bool(_found(text, words)),
    "missing": _missing,
    "matches": lambda text, pattern: re.search(pattern, _as_text(text)) is not None,
    "find_all": _find_all,
    "first_match": _first_match,
    "numbered": lambda items: "\n".join(f"{i}. {item}" for i, item in enumerate(items or [], 1)),
    "join": lambda items, sep="、": sep.join(str(i) for i in items or []),
    "count_chars": _count_chars,
    "similarity": _similarity,
    "empty": _empty,
    "lower": lambda s: _as_text(s).lower(),
    "strip": lambda s: _as_text(s).strip(),
    # numbers and collections
    "number": _number,
    "ratio": _ratio,
    "in_range": _in_range,
    "pluck": _pluck,
    "shared": _shared,
    "similar_pairs": _similar_pairs,
    "regular_steps": _regular_steps,
    "count_where": _count_where,
    "tally": _tally,
    "top": _top,
    "keys": _keys,
    "unique": _unique,
    "duplicates": _duplicates,
    # dates and deadlines
    "date": to_date,
    "today": _today,
    "iso": _iso,
    "zh_date": _zh_date,
    "days_between": _days_between,
    "add_days": _add_days,
    "add_months": _add_months,
    "full_years": _full_years,
    "add_working_days": _add_working_days,
    "working_days_between": _working_days_between,
    # Chinese identifiers (rules in shuzhi.cn)
    "is_valid_id_number": _is_valid_id_number,
    "id_birth_date": _id_birth_date,
    "id_gender": _id_gender,
    "is_valid_credit_code": _is_valid_credit_code,
    "is_mobile": _is_mobile,
}


@lru_cache(maxsize=1)
def function_names() -> tuple[str, ...]:
    return tuple(sorted(FUNCTIONS))
