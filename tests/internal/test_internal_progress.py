"""The plain-line progress a long job writes when stderr is not a terminal (a ``nohup`` build's log)."""

import io

from hyperstar._internal.progress import LineProgress


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_lines_count_only_this_run_and_give_the_time_left_at_its_rate():
    clock, out = Clock(), io.StringIO()
    bar = LineProgress(total=1000, initial=400, desc="meta-data", every=600, first=300, file=out, clock=clock)
    clock.t = 100.0
    bar.update(10)
    assert out.getvalue() == ""  # before the first line is due
    clock.t = 360.0
    bar.update(50)  # 60 cells this run in 6 minutes: 600 an hour, 540 left: 54 minutes
    lines = out.getvalue().splitlines()
    assert lines == ["meta-data: 460/1,000 cells (46.0%), 60 in 6 min, 600/h, about 54 min left at this rate"]
    clock.t = 700.0
    bar.update(1)  # the next line is due at 900 s
    assert len(out.getvalue().splitlines()) == 1
    clock.t = 7200.0
    bar.update(1)
    bar.close()  # a last line, since lines were written
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("meta-data: 462/1,000 cells (46.2%), 62 in 2.0 h, 31/h") and "17.4 h left" in last


def test_a_short_job_writes_nothing():
    clock, out = Clock(), io.StringIO()
    bar = LineProgress(total=5, file=out, clock=clock)
    for _ in range(5):
        clock.t += 1
        bar.update(1)
    bar.close()
    assert out.getvalue() == ""
