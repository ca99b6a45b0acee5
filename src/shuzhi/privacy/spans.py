"""The kinds of personal data shuzhi finds, and where it found them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["LABELS", "PiiKind", "PiiSpan"]


class PiiKind(StrEnum):
    ID_NUMBER = "id_number"
    MOBILE = "mobile"
    LANDLINE = "landline"
    BANK_CARD = "bank_card"
    EMAIL = "email"
    PLATE = "plate"
    PASSPORT = "passport"
    CUSTOM = "custom"


# The Chinese word inside a placeholder such as 〔手机号1〕.
LABELS: dict[PiiKind, str] = {
    PiiKind.ID_NUMBER: "身份证号",
    PiiKind.MOBILE: "手机号",
    PiiKind.LANDLINE: "固定电话",
    PiiKind.BANK_CARD: "银行卡号",
    PiiKind.EMAIL: "邮箱",
    PiiKind.PLATE: "车牌号",
    PiiKind.PASSPORT: "护照号",
    PiiKind.CUSTOM: "敏感信息",
}


@dataclass(frozen=True)
class PiiSpan:
    """One item of personal data: ``text[start:end] == value``.

    ``name`` is the configured pattern name for ``CUSTOM`` items and empty otherwise.
    """

    kind: PiiKind
    start: int
    end: int
    value: str
    name: str = ""

    @property
    def label(self) -> str:
        """The word used in placeholders: the custom pattern's name or the kind's label."""
        return self.name or LABELS[self.kind]
