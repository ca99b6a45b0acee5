"""What a person is shown of a job: its params, result and error without absolute server paths.

A job keeps the paths it works on (an upload under the data directory, say) exactly as they are;
showing them would tell every reader of ``/api/jobs`` how the server's disk is laid out. So a
path under the data directory is shown relative to it, and any other absolute path by its file
name only.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any


def public_value(value: Any, data_dir: Path) -> Any:
    """``value`` (a job's params or result, or a part of them) with every path made safe."""
    if isinstance(value, Mapping):
        return {key: public_value(item, data_dir) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [public_value(item, data_dir) for item in value]
    if isinstance(value, str) and "\n" not in value and PurePath(value).is_absolute():
        return _shown_path(PurePath(value), data_dir)
    return value


def public_text(text: str, data_dir: Path) -> str:
    """A message (a job's error) with the data directory's own path taken out."""
    for root in {str(data_dir), str(data_dir.resolve())}:
        text = text.replace(root.rstrip("/\\") + "/", "").replace(root.rstrip("/\\") + "\\", "")
    return text


def _shown_path(path: PurePath, data_dir: Path) -> str:
    for root in (data_dir, data_dir.resolve()):
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return path.name or str(path)
