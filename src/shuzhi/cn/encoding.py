"""Decode text files of unknown encoding: Chinese government exports are often GBK/GB18030."""

from __future__ import annotations

import codecs
import os
import re
from pathlib import Path

import charset_normalizer

from shuzhi.errors import InvalidInput, NotFound, os_error_zh

__all__ = ["decode_bytes", "is_chinese_utf8", "read_text"]

# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
_ODD_RE = re.compile("[\x00-\x08\x0b\x0e-\x1f\ue000-\uf8ff\U000f0000-\U0010ffff]")
_MAX_ODD_SHARE = 0.01
_SHORT_TEXT = 64


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode ``data`` and name the encoding used.

    Order: a byte-order mark (UTF-8, UTF-16, UTF-32); strict UTF-8; strict GB18030 (a superset
    of GBK and GB2312); then charset-normalizer's best guess. A decoding full of control
    characters counts as a failure, so binary files are refused rather than turned into garbage.
    """
    if not data:
        return "", "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            text = _try(data, name, strict_private=False)
            if text is not None:
                return text, name
    utf8 = _try(data, "utf-8", strict_private=False)
    gb = _try(data, "gb18030") if utf8 is None or len(utf8) <= _SHORT_TEXT else None
    if utf8 is not None and not (gb is not None and _gbk_misread_as_utf8(utf8, gb)):
        return utf8, "utf-8"
    if gb is not None:
        return gb, "gb18030"
    return _guess(data)


def readable_name(name: str) -> str:
    """A file name or path as text to store and show, whatever bytes it has on disk.

    Python reads a name that is not UTF-8 (a Windows zip's GBK names, unpacked on Linux) with
    lone surrogates, which no database and no hash accepts. Such a name is read as GB18030 when
    it is that, else with the undecodable bytes shown as U+FFFD.
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


def is_chinese_utf8(line: bytes) -> bool:
    """True when ``line`` is valid UTF-8 holding a character of three bytes or more (Chinese).

    GBK text is almost never valid UTF-8, and when a short run of it is by accident, it reads
    as two-byte characters only (see ``_gbk_misread_as_utf8``). So a line for which this holds
    inside a file that is otherwise GBK shows a file of mixed encodings.
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return any(ch > "\u07ff" for ch in text)


def _try(data: bytes, encoding: str, *, strict_private: bool = True) -> str | None:
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    return text if _looks_like_text(text, strict_private) else None


def _looks_like_text(text: str, strict_private: bool) -> bool:
    # Private-use code points are what GB18030 yields for Big5 or random bytes; in valid UTF-8
    # they are rare but genuine (fonts map uncommon characters there).
    odd = _ODD_RE if strict_private else _CONTROL_RE
    return len(odd.findall(text)) <= len(text) * _MAX_ODD_SHARE


def _gbk_misread_as_utf8(utf8: str, gb: str) -> bool:
    # A few GBK characters can be valid UTF-8 by accident (小 = D0 A1 = Cyrillic С); in longer
    # text the odds vanish. So a short text whose UTF-8 reading has only two-byte characters
    # other than the Latin-1 letters (C1 controls, Latin Extended, Greek, Cyrillic...) while
    # GB18030 reads it as Chinese is taken as Chinese. Latin-1 accents (café) stay UTF-8; the
    # GBK characters that collide with them (茅 = é) are the one ambiguity left.
    if len(utf8) > _SHORT_TEXT:
        return False
    wide = [ch for ch in utf8 if ch > "\x7f"]
    if not wide or any(ch > "\u07ff" or "\u00c0" <= ch <= "\u00ff" for ch in wide):
        return False
    return all(_chinese(ch) for ch in gb if ch > "\x7f")


def _chinese(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"


def _guess(data: bytes) -> tuple[str, str]:
    best = charset_normalizer.from_bytes(data).best()
    if best is not None:
        text = _try(data, best.encoding)
        if text is not None:
            return text, best.encoding
    raise InvalidInput(
        "无法识别文件的文字编码，可能不是文本文件",
        hint="请另存为 UTF-8 编码的文本（CSV、TXT）后重新上传",
    )


def read_text(path: str | Path) -> str:
    """Read a text file in whatever encoding it was saved."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFound(f"文件不存在：{path}", hint="请检查文件路径") from exc
    except OSError as exc:
        raise InvalidInput(f"无法读取文件 {path}：{os_error_zh(exc)}") from exc
    try:
        return decode_bytes(data)[0]
    except InvalidInput as exc:
        raise InvalidInput(f"{exc.message}：{path}", hint=exc.hint) from exc
