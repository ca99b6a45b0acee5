"""Shared helpers for the job tests: waiting for jobs, users with API keys, subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from shuzhi import jobs
from shuzhi.jobs import store
from shuzhi.platform.identity import create_api_key, create_user
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from shuzhi.storage.models import Department, Job


def wait_finished(db: Database, job_id: int, *, timeout: float = 20.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = jobs.get(db, job_id)
        if job.status in store.FINISHED:
            return job
        time.sleep(0.05)
    job = jobs.get(db, job_id)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout}s (error: {job.error})")


def user_with_key(
    db: Database, username: str, role: Role, *, department_code: str | None = None
) -> tuple[str, int | None]:
    """Create a user holding ``role`` (in that department, created if new); return its key."""
    with db.session() as session:
        department_id = None
        if department_code:
            dept = session.scalar(select(Department).where(Department.code == department_code))
            if dept is None:
                dept = Department(code=department_code, name=f"部门{department_code}")
                session.add(dept)
                session.flush()
            department_id = dept.id
        user = create_user(session, username, None, [(role, department_id)])
        _, plain = create_api_key(session, f"{username}-key", user.id, department_id)
    return plain, department_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``python -m shuzhi.cli <args>`` with its output in ``log``."""
    out = log.open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "shuzhi.cli", *args],
        env={**os.environ, **env},
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes], *, timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
