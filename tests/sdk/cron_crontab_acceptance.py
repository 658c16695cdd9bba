#!/usr/bin/python3
"""Acceptance test: every canonical form we produce installs with Debian's own crontab binary.

Usage: cron_crontab_acceptance.py CRON_FIRE_TIMES_BINARY

The corpus is the differential corpus, a second generated corpus that also keeps the forms
croniter cannot judge (`*` later in a list, full day lists, schedules that never fire), and a
list of edge cases. Each expression is parsed by our library (through the test tool); the
canonical form, followed by a command, is installed for a throwaway user created for this run
and removed afterwards, even on failure. Debian's crontab refuses files over 10,000 lines, so
the entries go in chunks. Must run as root (useradd, crontab -u); otherwise it fails.
"""

import os
import secrets
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cron_corpus  # noqa: E402

CHUNK = 5000
EDGE_CASES = [
    "* * * * *", "*/60 * * * *", "5-5/2 * * * *", "59 23 31 12 7", "0 0 * * 0-7",
    "0 0 * * 1/2", "0 0 * * 7/1", "5/10 3/6 2/7 2/3 1/2", "00 002 01 01 00", "*/015 * * * *",
    "0 0 * jan-Mar mon-FRI", "0 0 * DEC sun", "0 0 * * SUN-7", "*,5 * * * *", "5,* * * * *",
    "0 0 1,* * 5", "0 0 30 2 *", "0 0 31 4 *", "0-59/100 0-23/24 1-31/31 1-12/12 0-7/8",
    "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@reboot",
    "  0\t2  *  * *  ",
]


def canonical_forms(tool, corpus):
    request = "".join("UTC\t0\t0\t%s\n" % expr for expr in corpus)
    out = subprocess.run([tool], input=request, capture_output=True, text=True, check=True)
    forms = []
    for expr, line in zip(corpus, out.stdout.splitlines()):
        parts = line.split("\t")
        if parts[0] != "OK":
            sys.exit("FAIL: our parser rejected %r: %s" % (expr, line))
        forms.append(parts[1])
    if len(forms) != len(corpus):
        sys.exit("FAIL: tool answered %d of %d expressions" % (len(forms), len(corpus)))
    return forms


def install(user, lines):
    text = "".join("%s /bin/true\n" % line for line in lines)
    return subprocess.run(["crontab", "-u", user, "-"], input=text, capture_output=True,
                          text=True)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: cron_crontab_acceptance.py CRON_FIRE_TIMES_BINARY")
    if os.geteuid() != 0:
        sys.exit("FAIL: this test must run as root (it creates a throwaway user with useradd and "
                 "installs crontabs with crontab -u); it did not run")
    for tool in ("crontab", "useradd", "userdel"):
        if shutil.which(tool) is None:
            sys.exit("FAIL: %s not found (Debian packages cron and passwd)" % tool)

    corpus = list(dict.fromkeys(cron_corpus.generate() + cron_corpus.generate(3000, 7, False)
                                + EDGE_CASES))
    forms = list(dict.fromkeys(canonical_forms(sys.argv[1], corpus)))

    user = "crtst" + secrets.token_hex(6)
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
                   check=True)
    failures = 0
    try:
        # The check can fail: Debian's crontab rejects `a/n`, which is why we rewrite it.
        control = install(user, ["5/10 * * * *"])
        if control.returncode == 0:
            print("FAIL: crontab accepted '5/10 * * * *'; the check cannot tell good from bad")
            failures += 1
        for i in range(0, len(forms), CHUNK):
            chunk = forms[i:i + CHUNK]
            result = install(user, chunk)
            if result.returncode != 0:
                failures += 1
                print("FAIL: crontab refused chunk %d: %s" % (i // CHUNK, result.stderr.strip()))
                for line in chunk:  # find the culprits one by one
                    if install(user, [line]).returncode != 0:
                        print("  refused: %r" % line)
                continue
            listed = subprocess.run(["crontab", "-u", user, "-l"], capture_output=True,
                                    text=True, check=True).stdout
            installed = [line for line in listed.splitlines()
                         if line and not line.startswith("#")]
            if len(installed) != len(chunk):
                failures += 1
                print("FAIL: chunk %d: %d entries installed, %d given"
                      % (i // CHUNK, len(installed), len(chunk)))
    finally:
        subprocess.run(["crontab", "-u", user, "-r"], capture_output=True)
        subprocess.run(["userdel", user], check=False)
    print("%d expressions, %d distinct canonical forms installed with crontab, %d failures"
          % (len(corpus), len(forms), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
