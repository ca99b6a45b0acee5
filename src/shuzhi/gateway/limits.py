"""Per-endpoint limits: how many calls run at once and how many start per minute.

The limits hold within one process. Several API servers sharing an endpoint each get the full
budget, so divide an endpoint's real limit by the number of servers when configuring it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class EndpointLimiter:
    def __init__(self, max_concurrency: int, rpm_limit: int | None) -> None:
        self._slots = asyncio.Semaphore(max(1, max_concurrency))
        self._rpm = rpm_limit
        self._starts: deque[float] = deque()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the endpoint's concurrent slots for the whole call (or stream)."""
        async with self._slots:
            yield

    async def admit(self) -> None:
        """Wait until one more request may start within the requests-per-minute budget."""
        if not self._rpm:
            return
        while True:
            now = time.monotonic()
            while self._starts and now - self._starts[0] >= 60.0:
                self._starts.popleft()
            if len(self._starts) < self._rpm:
                self._starts.append(now)
                return
            await asyncio.sleep(60.0 - (now - self._starts[0]))
