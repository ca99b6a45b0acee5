"""What to tell a person when the database refuses a value the checks before it let through.

Request models and CLI arguments check what they take; these are the last line, for a value that
reached the database another way (a lookup by a path parameter, a number past 64 bits, a text
longer than its column). The API and the CLI both answer with these words, never the driver's.
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError

REFUSED = (IntegrityError, DataError, OverflowError)


def refusal_message(exc: BaseException) -> str:
    """One Chinese line for a refused value: what kind of value, and what to do."""
    if isinstance(exc, IntegrityError):
        return "引用的记录不存在，或与已有记录重复；请检查编号（如部门编号 department_id）后重试"
    reason = str(getattr(exc, "orig", exc))
    if "NUL" in reason or "\\u0000" in reason:
        return "文字中含有 NUL 等控制字符；请删去不可见字符后重试"
    if "too long" in reason:
        return "文字超过长度上限；请缩短后重试"
    return "数值超出范围；编号和数量请填写合理的正整数"
