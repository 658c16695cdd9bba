#!/usr/bin/python3
"""Differential test: our fire times in UTC against Debian's python3-croniter 1.3.5.

Usage: cron_differential.py CRON_FIRE_TIMES_BINARY

For every expression of the generated corpus (cron_corpus.py) and several fixed start instants,
the next 50 fire times must be identical. croniter has no switch for cron's rule that a leading
`*` in either day field makes the day fields AND instead of OR, so it gets day_or=False in that
case. Instants beyond 30 years after the start are not compared (our documented search horizon).
Run with /usr/bin/python3: that is where Debian installs croniter.

croniter 1.3.5 is used only where it is a valid oracle for Debian cron:
  * it does not drop day-of-month candidates larger than the current month's length, so a search
    that has to leave a month overshoots into the next one (from 28 February, `*/10` jumps to
    2 March and misses 1 March). We therefore only trust croniter for a fire time in the same
    calendar month as the instant the search starts from; when its answer lies in a later month
    we restart it one second before the next month begins, until it answers within the month
    it starts in. That is croniter's own answer, just never across a month boundary.
  * it treats a day field that lists every value (`0-6`, `sun-sat`, `1-31`) as `*`, which
    changes the day-of-month/day-of-week rule; cron_corpus.py leaves such fields out (see there).
"""

import multiprocessing
import os
import subprocess
import sys
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cron_corpus  # noqa: E402

try:
    from croniter import croniter
except ImportError:
    sys.exit("FAIL: python3-croniter is not installed for %s (apt-get install python3-croniter)"
             % sys.executable)

COUNT = 50
STARTS = [
    int(datetime(2026, 11, 26, 22, 43, 17, tzinfo=timezone.utc).timestamp()),
    int(datetime(2027, 12, 31, 23, 59, 0, tzinfo=timezone.utc).timestamp()),
    int(datetime(2028, 2, 28, 12, 0, 0, tzinfo=timezone.utc).timestamp()),
]
HORIZON = 30 * 365 * 86400


def month_of(t):
    d = datetime.fromtimestamp(t, timezone.utc)
    return d.year, d.month


def next_month_start(t):
    year, month = month_of(t)
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return int(datetime(year, month, 1, tzinfo=timezone.utc).timestamp())


def oracle(job):
    expr, start = job
    fields, day_or = cron_corpus.croniter_form(expr)
    out = []
    cursor = start
    while len(out) < COUNT and cursor <= start + HORIZON:
        try:
            t = int(croniter(fields, cursor, day_or=day_or).get_next(float))
        except Exception:  # croniter gives up on very rare schedules (its own search limit)
            break
        if month_of(t) != month_of(cursor + 1):
            cursor = next_month_start(cursor + 1) - 1  # see the module comment
            continue
        if t > start + HORIZON:
            break
        out.append(t)
        cursor = t
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: cron_differential.py CRON_FIRE_TIMES_BINARY")
    corpus = cron_corpus.generate()
    jobs = [(expr, start) for expr in corpus for start in STARTS]
    request = "".join("UTC\t%d\t%d\t%s\n" % (start, COUNT, expr) for expr, start in jobs)
    result = subprocess.run([sys.argv[1]], input=request, capture_output=True, text=True,
                            check=True)
    ours = result.stdout.splitlines()
    if len(ours) != len(jobs):
        sys.exit("FAIL: tool answered %d of %d requests" % (len(ours), len(jobs)))
    with multiprocessing.Pool(2) as pool:
        theirs = pool.map(oracle, jobs, chunksize=64)
    differences = 0
    compared = 0
    for (expr, start), line, expected in zip(jobs, ours, theirs):
        parts = line.split("\t")
        if parts[0] != "OK":
            differences += 1
            print("REJECTED %r: %s" % (expr, line))
            continue
        got = [int(t) for t in parts[2].split()] if parts[2] else []
        got = [t for t in got if t <= start + HORIZON]
        compared += len(expected)
        if got != expected:
            differences += 1
            if differences <= int(os.environ.get("CRON_DIFF_SHOW", "20")):
                first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b),
                             min(len(got), len(expected)))
                fmt = lambda ts: [datetime.fromtimestamp(t, timezone.utc).strftime("%a %F %R")
                                  for t in ts[first:first + 3]]
                print("DIFF %r from %s (canonical %r): at #%d ours %s croniter %s" % (
                    expr, datetime.fromtimestamp(start, timezone.utc).isoformat(), parts[1],
                    first, fmt(got), fmt(expected)))
    print("%d expressions x %d start instants, %d fire times compared, %d differences"
          % (len(corpus), len(STARTS), compared, differences))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
