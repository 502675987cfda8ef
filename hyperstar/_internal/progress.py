"""Progress for long jobs whose stderr is not a terminal (``nohup``, a log file, CI).

tqdm's bar redraws one line with carriage returns, which makes an unreadable log, so a job that is not on a
terminal writes a plain line now and then instead: how far, the rate of *this* run (a resumed job does not
count what an earlier run did) and the time left at that rate.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _hours(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class LineProgress:
    """The part of tqdm's interface the builders use (``update``, ``close``), written as plain lines.

    A line is written when ``first`` seconds have passed since the start, then every ``every`` seconds, and
    once at ``close`` if any was written before (a short job stays silent).
    """

    def __init__(self, total: int, initial: int = 0, desc: str = "progress", unit: str = "cell",
                 every: float = 600.0, first: float = 300.0, file: TextIO | None = None,
                 clock=time.monotonic) -> None:
        self.total, self.n, self.start_n = int(total), int(initial), int(initial)
        self.desc, self.unit, self.every, self.file, self.clock = desc, unit, float(every), file, clock
        self.t0 = clock()
        self.next_at = self.t0 + float(first)
        self.written = 0

    def line(self) -> str:
        elapsed = max(self.clock() - self.t0, 1e-9)
        done_here = self.n - self.start_n
        share = 100.0 * self.n / self.total if self.total else 100.0
        text = f"{self.desc}: {self.n:,}/{self.total:,} {self.unit}s ({share:.1f}%), {done_here:,} in {_hours(elapsed)}"
        if done_here > 0:
            rate = done_here / elapsed
            text += f", {rate * 3600:,.0f}/h, about {_hours(max(self.total - self.n, 0) / rate)} left at this rate"
        return text

    def _write(self) -> None:
        out = self.file if self.file is not None else sys.stderr
        out.write(self.line() + "\n")
        out.flush()
        self.written += 1

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        now = self.clock()
        if now >= self.next_at:
            self._write()
            if self.every <= 0:  # a line at every update
                self.next_at = now
            else:
                while self.next_at <= now:
                    self.next_at += self.every

    def close(self) -> None:
        if self.written:
            self._write()
