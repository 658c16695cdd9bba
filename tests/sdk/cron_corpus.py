"""Deterministic corpus of cron expressions for the differential and crontab acceptance tests.

Covers numbers (with leading zeros), ranges, steps (*/n, a-b/n, a/n), comma lists, month and
weekday names in mixed case (also inside ranges and mixed with numbers), day-of-week 7, every
macro, and day-of-month/day-of-week combinations with and without a leading `*`.

Forms where croniter 1.3.5 is not a valid oracle for Debian cron are left out on purpose:
  * `*` inside a list after the first item (`1,*`): cron decides the day rule on the first
    character only, croniter looks at the whole field;
  * schedules that never fire (`0 0 30 2 *`): croniter raises after its search limit; the C++
    unit tests cover them. With day_or croniter also gives up when only the day-of-month half of
    an OR can never match (`0 0 31 2 5`, which cron runs on Fridays in February), so any
    day-of-month field that selects no existing day in the selected months is left out;
  * a day-of-month or day-of-week field that lists every value without beginning with `*`
    (`0-6`, `sun-sat`, `1-31`, `0-3,4-7`): croniter collapses it to `*`, which flips the day rule
    from OR to AND (Debian cron: `0 0 1 * 0-6` runs every day; croniter: on the 1st only). The
    C++ tests cover that case;
  * reversed ranges (`10-5`), which we reject.
"""

import random

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]
# (low, high, names) per field; day-of-week goes up to 7 (Sunday again).
FIELDS = [(0, 59, None), (0, 23, None), (1, 31, None), (1, 12, MONTHS), (0, 7, DAYS)]


def _mixed_case(rng, name):
    return "".join(c.lower() if rng.random() < 0.5 else c for c in name)


def _value(rng, field, v):
    low, _, names = FIELDS[field]
    if names and v - low < len(names) and rng.random() < 0.4:
        return _mixed_case(rng, names[v - low])
    if rng.random() < 0.05:
        return "0" + str(v)
    return str(v)


def _item(rng, field):
    low, high, _ = FIELDS[field]
    kind = rng.choice(["num", "num", "range", "range", "star_step", "range_step", "start_step"])
    if kind == "num":
        return _value(rng, field, rng.randint(low, high))
    if kind == "star_step":
        return "*/" + str(rng.choice([1, 2, 3, 4, 5, 6, 7, 10, 13, 15, 20, 30, 45, 59, 60]))
    a = rng.randint(low, high)
    b = rng.randint(a, min(high, a + rng.choice([1, 3, 8, 20, 60])))
    if kind == "range":
        return _value(rng, field, a) + "-" + _value(rng, field, b)
    step = str(rng.choice([1, 2, 3, 4, 5, 7, 11, 25]))
    if kind == "range_step":
        return _value(rng, field, a) + "-" + _value(rng, field, b) + "/" + step
    return str(a) + "/" + step


def _field(rng, field, star_weight, croniter_safe):
    r = rng.random()
    if r < star_weight:
        return "*"
    if r < star_weight + 0.1:
        return "*/" + str(rng.choice([1, 2, 3, 5, 7, 15]))
    items = [_item(rng, field) for _ in range(rng.choice([1, 1, 1, 2, 3, 4]))]
    if rng.random() < 0.05:
        items.insert(rng.randrange(1, len(items) + 1), "*")  # `*` later in a list
    if croniter_safe and any(i.startswith("*") for i in items[1:]):
        items = [i for i in items if not i.startswith("*")] or items[:1]
    return ",".join(items)


def expand(field_text, field):
    """The values a field selects (day-of-week 7 counted as 0)."""
    low, high, names = FIELDS[field]

    def value(text):
        if names and text.upper() in names:
            return low + names.index(text.upper())
        return int(text)

    values = set()
    for item in field_text.split(","):
        step = 1
        if "/" in item:
            item, step_text = item.split("/")
            step = int(step_text)
            if item != "*" and "-" not in item:
                item = item + "-" + str(high)
        if item == "*":
            a, b = low, high
        elif "-" in item:
            a, b = (value(x) for x in item.split("-"))
        else:
            a = b = value(item)
        values.update(range(a, b + 1, step))
    if field == 4 and 7 in values:
        values.discard(7)
        values.add(0)
    return values


def _croniter_collapses(field_text, field):
    full = 7 if field == 4 else FIELDS[field][1] - FIELDS[field][0] + 1
    return not field_text.startswith("*") and len(expand(field_text, field)) == full


MONTH_LENGTHS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def _dom_reachable(dom, month):
    days = expand(dom, 2)
    return any(d <= MONTH_LENGTHS[m - 1] for m in expand(month, 3) for d in days)


def generate(count=2200, seed=20261126, croniter_safe=True):
    """`count` distinct expressions; croniter_safe=False keeps the forms croniter gets wrong."""
    rng = random.Random(seed)
    corpus = list(MACROS)
    fixed = [
        "* * * * *", "0 0 13 * 5", "0 0 */2 * 5", "0 0 13 * */2", "0 0 1,15 * mon-FRI",
        "0 0 * * 7", "0 0 * * sun-7", "0 0 * * 5-7", "30 2 29 2 *", "0 0 31 * *",
        "59 23 31 12 *", "5/10 3/6 2/7 2/3 1/2", "0 0 29 2 1", "0 12 * jan-Mar,sep-dec 1-5",
    ]
    corpus += fixed
    seen = set(corpus)
    while len(corpus) < count:
        minute = _field(rng, 0, 0.15, croniter_safe)
        hour = _field(rng, 1, 0.25, croniter_safe)
        dom = _field(rng, 2, 0.45, croniter_safe)
        month = _field(rng, 3, 0.6, croniter_safe)
        dow = _field(rng, 4, 0.5, croniter_safe)
        expr = " ".join([minute, hour, dom, month, dow])
        if croniter_safe and (_croniter_collapses(dom, 2) or _croniter_collapses(dow, 4)
                              or not _dom_reachable(dom, month)):
            continue
        if expr not in seen:
            seen.add(expr)
            corpus.append(expr)
    return corpus


def croniter_form(expr):
    """The five fields to give croniter and its day_or flag (cron's leading-`*` rule)."""
    macros = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
              "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
              "@hourly": "0 * * * *"}
    fields = macros.get(expr, expr).split()
    day_or = not (fields[2].startswith("*") or fields[4].startswith("*"))
    return " ".join(fields), day_or
