"""One exception root for the whole platform.

::

    ShuzhiError
    ├── UserError            the caller or operator must change something (HTTP 4xx, CLI exit 2)
    │   ├── InvalidInput     bad value in a request, file or definition (422)
    │   ├── NotFound         (404)
    │   ├── Conflict         the thing exists already or is in the wrong state (409)
    │   ├── Unauthenticated  (401)
    │   ├── PermissionDenied (403)
    │   └── ConfigError      a setting is wrong; the message names the setting (CLI exit 2)
    ├── RuntimeFailure       our own failure: a bug or a broken invariant (500)
    └── UpstreamError        a service we depend on failed (502/503)
        ├── StorageUnavailable  the database cannot be reached
        └── ModelError          a model endpoint failed or none is configured

Every error carries a ``message`` a person can act on (Chinese where a clerk reads it) and an
optional ``hint`` naming the setting, command or file that fixes it. Third-party exceptions are
translated once, where they enter our code, with ``raise ... from``; :func:`reason_zh` gives
the Chinese reason for the common OS, encoding, zip and JSON errors behind a clerk's file,
:func:`yaml_error_zh` the place and reason of a YAML mistake, and :func:`pydantic_problem_zh`
what is wrong with one field pydantic refused (a request, a command's options, a file).
"""

from __future__ import annotations

import errno
import json
import re
import zipfile
from collections.abc import Mapping
from typing import Any


class ShuzhiError(Exception):
    """Root of every error shuzhi raises on purpose."""

    status_code = 500
    code = "error"

    def __init__(self, message: str, *, hint: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.message}（{self.hint}）" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.kind, "code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        if self.detail:
            body["detail"] = self.detail
        return body

    @property
    def kind(self) -> str:
        """The OpenAI-style error type, so OpenAI clients can read our errors too."""
        return "server_error"


class UserError(ShuzhiError):
    status_code = 400
    code = "bad_request"

    @property
    def kind(self) -> str:
        return "invalid_request_error"


class InvalidInput(UserError):
    status_code = 422
    code = "invalid_input"


class NotFound(UserError):
    status_code = 404
    code = "not_found"


class Conflict(UserError):
    status_code = 409
    code = "conflict"


class Unauthenticated(UserError):
    status_code = 401
    code = "unauthenticated"

    @property
    def kind(self) -> str:
        return "authentication_error"


class PermissionDenied(UserError):
    status_code = 403
    code = "permission_denied"

    @property
    def kind(self) -> str:
        return "permission_error"


class ConfigError(UserError):
    status_code = 500
    code = "config_error"


class RuntimeFailure(ShuzhiError):
    status_code = 500
    code = "internal_error"


class UpstreamError(ShuzhiError):
    status_code = 502
    code = "upstream_error"


class StorageUnavailable(UpstreamError):
    status_code = 503
    code = "storage_unavailable"


class ModelError(UpstreamError):
    """A model endpoint failed, timed out, or none is configured for what was asked."""

    status_code = 502
    code = "model_error"


class NoModelConfigured(ModelError):
    status_code = 503
    code = "no_model_configured"


# Reasons in Chinese for the exceptions a clerk's file most often raises --------------------------
#
# Library messages ("File is not a zip file", "Expecting property name enclosed in double quotes",
# "No such file or directory") mean nothing to a clerk. These helpers turn the common ones into a
# reason that says what to fix; the original exception stays chained with ``raise ... from``.

_OS_REASONS = {
    errno.ENOENT: "文件不存在",
    errno.EACCES: "没有访问权限",
    errno.EPERM: "没有访问权限",
    errno.EISDIR: "这是一个文件夹，请给出其中的文件",
    errno.ENOTDIR: "路径中有一级不是文件夹",
    errno.ENAMETOOLONG: "路径或文件名过长",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "所在磁盘只读，不能写入",
}

_JSON_REASONS = (
    ("Expecting property name", "键名须用英文双引号括起来"),
    ("Expecting value", "此处缺少值（字符串须用英文双引号括起来）"),
    ("Expecting ':' delimiter", "键名后缺少英文冒号 :"),
    ("Expecting ',' delimiter", "两项之间缺少英文逗号 ,"),
    ("Unterminated string", "字符串缺少结尾的英文双引号"),
    ("Invalid control character", "字符串中不能直接换行，请写成 \\n"),
    ("Invalid \\escape", "反斜杠 \\ 须写成 \\\\（如 Windows 路径）"),
    ("Invalid \\u", "反斜杠 \\ 须写成 \\\\（如 Windows 路径）"),
    ("Extra data", "JSON 内容结束后还有多余的文字"),
    ("Illegal trailing comma", "最后一项后面多了一个逗号"),
)
_FULL_WIDTH = dict(zip("“”‘’：，｛｝【】［］", "\"\"'':,{}[][]", strict=True))


_WRITE_REASONS = {errno.ENOENT: "所在文件夹不存在", errno.EISDIR: "这是一个文件夹，请给出文件名"}


def os_error_zh(exc: OSError, *, writing: bool = False) -> str:
    """Why a file could not be read (or, ``writing``, written), in Chinese: by the errno, not by
    the C library's text."""
    if exc.errno is None:
        return "读写失败"
    if writing and exc.errno in _WRITE_REASONS:
        return _WRITE_REASONS[exc.errno]
    code = errno.errorcode.get(exc.errno, str(exc.errno))
    return _OS_REASONS.get(exc.errno, f"读写失败（错误码 {code}）")


def json_error_zh(exc: json.JSONDecodeError) -> str:
    """``第 3 行第 5 列：<reason>`` for a JSON parse error, naming the usual slips of a clerk."""
    if not exc.doc.strip():
        return "内容为空，应为 JSON"
    where = f"第 {exc.lineno} 行第 {exc.colno} 列"
    here = exc.doc[exc.pos : exc.pos + 1]
    if here in _FULL_WIDTH:
        return f"{where}：中文标点 {here} 应改为英文的 {_FULL_WIDTH[here]}"
    if here in "}]" and exc.doc[: exc.pos].rstrip().endswith(","):
        return f"{where}：最后一项后面多了一个逗号"
    reason = next((zh for en, zh in _JSON_REASONS if exc.msg.startswith(en)), "格式有误")
    return f"{where}：{reason}"


def reason_zh(exc: BaseException) -> str:
    """A Chinese reason for the common OS and parse errors; a generic one for anything else."""
    if isinstance(exc, json.JSONDecodeError):  # a ValueError: checked before the generic cases
        return json_error_zh(exc)
    if isinstance(exc, OSError):
        return os_error_zh(exc)
    if isinstance(exc, UnicodeDecodeError):
        return "文字编码无法识别（不是 UTF-8 编码），请另存为 UTF-8"
    if isinstance(exc, zipfile.BadZipFile):
        return "不是有效的 Office 文件（可能是旧版 .xls/.doc 格式、已加密或已损坏）"
    return "文件格式有误或已损坏"


# YAML mistakes --------------------------------------------------------------------------------
#
# PyYAML's problems ("mapping values are not allowed here") by what a clerk did wrong; the
# needles match both the Python parser's wording and LibYAML's (CSafeLoader). The exception is
# read by its attributes, so this module needs no YAML import. ``True`` marks the problems whose
# cause is where the scanner started (an opening quote or bracket), not where it gave up.

_YAML_REASONS = (
    ("found unexpected end of stream", "从这里开始的引号没有闭合", True),
    ("could not find expected ':'", "缺少英文冒号 :（或上一行的引号没有闭合）", True),
    ("expected ',' or ']'", "从这里开始的方括号 [ 没有闭合，或其中两项之间缺少英文逗号", True),
    ("expected ',' or '}'", "从这里开始的花括号 { 没有闭合，或其中两项之间缺少英文逗号", True),
    (
        "mapping values are not allowed",
        "此处不能有“冒号加空格”，值里含“: ”时请给整个值加引号",
        False,
    ),
    ("expected <block end>", "缩进不一致：同一层的各项应对齐", False),
    ("did not find expected key", "缩进不一致（同一层的各项应对齐），或缺少键名", False),
    ("did not find expected '-' indicator", "列表各项（- 开头）的缩进不一致", False),
    ("expected node content", "此处缺少值", False),
    ("expected the node content", "此处缺少值", False),
    ("found character '\\t'", "不能用 Tab 缩进，请改用空格", False),
    (
        "cannot start any token",
        "此处的字符不能开头：缩进请用空格而不是 Tab，以 @ 或 ` 开头的值请加引号",
        False,
    ),
    ("found unknown escape character", "双引号中的反斜杠 \\ 须写成 \\\\（或改用单引号）", False),
    ("found undefined alias", "引用了没有定义的锚点（*名称）", False),
    ("found duplicate anchor", "锚点名称（&名称）重复", False),
    ("but found another document", "文件中只能有一份内容，请删去多余的 ---", False),
    ("found unhashable key", "键名不能是列表或映射", False),
    ("could not determine a constructor", "不支持的标签（以 ! 开头的写法）", False),
)


def yaml_error_zh(exc: Exception) -> str:
    """``第 3 行第 5 列：<reason>`` for a PyYAML error, naming the usual slips of a clerk."""
    position, character = getattr(exc, "position", None), getattr(exc, "character", None)
    if isinstance(position, int) and character is not None:  # a ReaderError: a bad character
        code = f"U+{character:04X}" if isinstance(character, int) else repr(character)
        return f"第 {position + 1} 个字符 {code} 是 YAML 不允许的控制字符，请删去后重试"
    problem = str(getattr(exc, "problem", None) or "")
    found = next((r for r in _YAML_REASONS if r[0] in problem), None)
    reason = found[1] if found else "格式有误（常见原因：缩进不一致、冒号后缺空格、引号没有闭合）"
    noticed = getattr(exc, "problem_mark", None)
    start = getattr(exc, "context_mark", None) if found and found[2] else None
    if start is not None and noticed is not None and noticed.line != start.line:
        reason += f"（读到{_place(noticed)}时发现）"
    mark = start or noticed
    return f"{_place(mark)}：{reason}" if mark is not None else reason


def _place(mark: Any) -> str:
    return f"第 {mark.line + 1} 行第 {mark.column + 1} 列"


# Fields pydantic refused ----------------------------------------------------------------------
#
# Pydantic's English messages for the common mistakes, in the clerk's language. One entry of
# ``ValidationError.errors()`` (or of a request's ``RequestValidationError``) in, one Chinese
# phrase out; the caller names the field as its reader knows it (a JSON key, a ``--option``).

_PYDANTIC_ZH = {
    "missing": "必填，缺少此项",
    "extra_forbidden": "不认识的字段",
    "json_invalid": "不是有效的 JSON",
    "json_type": "应为 JSON 文本",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数（不能有小数）",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "finite_number": "应为具体数字（不能是 NaN 或 Infinity）",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "string_unicode": "含无法识别的字符（孤立的代理码位 \\ud800–\\udfff），请检查文字的编码",
    "bytes_type": "应为文本",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "set_type": "应为列表",
    "dict_type": "应为对象（键值映射）",
    "model_type": "应为对象（键值映射）",
    "model_attributes_type": "应为对象（键值映射）",
    "dataclass_type": "应为对象（键值映射）",
    "date_type": "应为日期，如 2026-12-04",
    "date_parsing": "应为日期，如 2026-12-04",
    "date_from_datetime_parsing": "应为日期，如 2026-12-04",
    "date_from_datetime_inexact": "应为日期（不带时刻），如 2026-12-04",
    "datetime_type": "应为日期时间，如 2026-12-04T09:30:00+08:00",
    "datetime_parsing": "应为日期时间，如 2026-12-04T09:30:00+08:00",
    "datetime_from_date_parsing": "应为日期时间，如 2026-12-04T09:30:00+08:00",
    "timezone_aware": "须带时区，如 2026-12-04T09:30:00+08:00",
    "timezone_naive": "不能带时区",
    "time_type": "应为时刻，如 09:30",
    "time_parsing": "应为时刻，如 09:30",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID",
    "url_type": "应为网址，如 https://www.example.gov.cn",
    "url_parsing": "应为网址，如 https://www.example.gov.cn",
    "url_scheme": "网址应以 http:// 或 https:// 开头",
    "none_required": "应为空（null）",
    "frozen_field": "不能修改",
    "frozen_instance": "不能修改",
}

_BOUNDS_ZH = {"greater_than_equal": "不小于", "greater_than": "大于",
              "less_than_equal": "不大于", "less_than": "小于"}  # fmt: skip
_CJK = re.compile("[\u3400-\u9fff]")


def has_chinese(text: str) -> bool:
    """True when ``text`` holds a Chinese character (a library's message never does)."""
    return _CJK.search(text) is not None


def pydantic_problem_zh(error: Mapping[str, Any]) -> str:
    """What is wrong with one refused field, in Chinese: ``最多 2000 个字符（现有 2400 个）``."""
    ctx = error.get("ctx") or {}
    kind = str(error.get("type", ""))
    given = error.get("input")
    if kind == "string_too_short":
        return f"至少 {ctx.get('min_length')} 个字符"
    if kind == "string_too_long":
        now = f"（现有 {len(given)} 个）" if isinstance(given, str) else ""
        return f"最多 {ctx.get('max_length')} 个字符{now}"
    if kind in ("too_short", "too_long"):  # a length checked after a validator: text or a list
        unit = "个字符" if isinstance(given, str) else "项"
        if kind == "too_short":
            return f"至少 {ctx.get('min_length')} {unit}"
        return f"最多 {ctx.get('max_length')} {unit}"
    if kind in _BOUNDS_ZH:
        return f"应{_BOUNDS_ZH[kind]} {next(iter(ctx.values()), '')}"
    if kind == "multiple_of":
        return f"应为 {ctx.get('multiple_of')} 的倍数"
    if kind == "string_pattern_mismatch":
        return f"格式不对（应匹配 {ctx.get('pattern')}）"
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", "")).replace(" or ", "、").replace(", ", "、")
        return f"可选值：{expected}"
    if kind in _PYDANTIC_ZH:
        return _PYDANTIC_ZH[kind]
    # Our own validators speak Chinese already (``Value error, 地址应以 http:// …``).
    message = (
        str(error.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    )
    return message if has_chinese(message) else f"取值不符合要求（{kind}）"
