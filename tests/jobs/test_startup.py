"""A worker pointed at an unreachable Redis stops at start with one line naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shuzhi.errors import UpstreamError
from shuzhi.jobs.redis_queue import check_redis

UNREACHABLE = "redis://user:secret@127.0.0.1:1/0"


def test_check_redis_names_the_setting_and_hides_the_password() -> None:
    with pytest.raises(UpstreamError) as err:
        check_redis(UNREACHABLE, timeout=2)
    assert "SHUZHI_REDIS_URL" in err.value.message
    assert "secret" not in err.value.message


def test_worker_with_unreachable_redis_fails_at_start(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHUZHI_DATA_DIR": str(tmp_path),
        "SHUZHI_CONFIG": str(tmp_path / "absent.toml"),
        "SHUZHI_DATABASE_URL": "",
        "SHUZHI_REDIS_URL": UNREACHABLE,
        "SHUZHI_LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-m", "shuzhi.cli", "worker"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip

    errors = [line for line in result.stderr.splitlines() if line.startswith("错误：")]
    assert result.returncode == 1, result.stderr
    assert len(errors) == 1 and "SHUZHI_REDIS_URL" in errors[0], result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr
