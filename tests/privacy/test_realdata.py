"""Masking over the real hotline messages in ../shared/data (skipped when absent)."""

import csv
import io
from pathlib import Path

import pytest

from shuzhi.cn.encoding import read_text
from shuzhi.cn.text import clean_text
from shuzhi.privacy import PiiKind, detect, mask

pytestmark = pytest.mark.realdata


def _messages(shared_data: Path) -> list[str]:
    path = shared_data / "hotline" / "messages_labelled.csv"
    if not path.exists():
        pytest.skip("messages_labelled.csv not present")
    rows = csv.DictReader(io.StringIO(read_text(path), newline=""))
    return [clean_text(row["留言详情"]) for row in rows]


def test_masking_real_messages(shared_data: Path) -> None:
    messages = _messages(shared_data)
    assert len(messages) > 4000
    found: dict[PiiKind, int] = {}
    for text in messages:
        spans = detect(text)
        if not spans:
            continue
        masked, vault = mask(text)
        assert detect(masked) == []
        assert vault.unmask(masked) == text or len(vault) < len(spans)
        for span in spans:
            found[span.kind] = found.get(span.kind, 0) + 1
    # The published messages are pseudonymised: a handful of office phone numbers remain, and
    # nothing in them looks like an ID number or a bank card.
    assert found.get(PiiKind.LANDLINE, 0) >= 1
    assert found.get(PiiKind.ID_NUMBER, 0) == 0
    assert found.get(PiiKind.BANK_CARD, 0) == 0
