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
the Chinese reason for the common OS, encoding, zip and JSON errors behind a clerk's file.
"""

from __future__ import annotations

import errno
import json
import zipfile
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
