#!/usr/bin/env python3
"""Writes the hostile-manifest corpus (corpus/) and its expectations (expected.tsv).

Run from this directory after changing a case: python3 generate.py. The files are committed; the
test (HostileManifestTest.cpp) reads them and never runs this script. Files that git cannot hold
well (over 1 MiB, symlinks) are made by the test itself and listed in expected.tsv as generated.

expected.tsv: PATH <TAB> OUTCOME <TAB> FIELD <TAB> MESSAGE
  OUTCOME error: `validate` reports an error for PATH whose field is FIELD and whose message
          contains MESSAGE, and nothing from PATH is installed;
  OUTCOME ok:    no error for PATH; the job is installed under identity FIELD (what the spec
          allows, e.g. a newline in a command, reaches only the run spec, never an entry).
"""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

rows = []


def q(s):
    """A YAML double-quoted scalar holding s (escapes for every control character)."""
    out = []
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif o < 0x20 or o == 0x7F or o in (0x85, 0x2028, 0x2029):
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def manifest(name="job", metadata="", spec="", top="", schedule='"0 2 * * *"', command="/bin/true"):
    return (
        "apiVersion: v1\nkind: Job\n" + top + "metadata:\n  name: " + name + "\n  tenant: acme\n" +
        metadata + "spec:\n  schedule: " + schedule + "\n  command: " + command + "\n" + spec)


def add(path, text, outcome, field, message=""):
    full = os.path.join(CORPUS, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    rows.append((path, outcome, field, message))


def generated(path, outcome, field, message=""):
    rows.append((path, outcome, field, message))


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    os.makedirs(CORPUS)

    # Control characters in every string field. NUL is refused everywhere; name, schedule,
    # timezone and env keys refuse every control character; the other fields may hold them (the
    # spec: they never reach a scheduler entry), so those files must apply without injection.
    controls = {"lf": "\n", "cr": "\r", "nul": "\0", "esc": "\x1b", "del": "\x7f",
                "nel": "\x85", "ls": "\u2028"}
    strict = {"name", "schedule", "timezone", "env-key"}
    fields = {
        "name": lambda v: manifest(name=q("job" + v + "x")),
        "tenant": lambda v: manifest(metadata="").replace("tenant: acme", "tenant: " + q("acme" + v + "x")),
        "id": lambda v: manifest(metadata="  id: " + q("id" + v + "* * * * * root rm -rf /") + "\n"),
        "label-key": lambda v: manifest(metadata="  labels: {" + q("k" + v + "x") + ": v}\n"),
        "label-value": lambda v: manifest(metadata="  labels: {k: " + q("v" + v + "x") + "}\n"),
        "annotation": lambda v: manifest(metadata="  annotations: {k: " + q("v" + v + "x") + "}\n"),
        "schedule": lambda v: manifest(schedule=q("0 2 * * *" + v + "* * * * * root /bin/evil")),
        "timezone": lambda v: manifest(spec="  timezone: " + q("UTC" + v + "x") + "\n"),
        "command": lambda v: manifest(command=q("/bin/true" + v + "* * * * * root /bin/evil")),
        "args": lambda v: manifest(spec="  args: [" + q("a" + v + "* * * * * root /bin/evil") + "]\n"),
        "workingdir": lambda v: manifest(spec="  workingDir: " + q("/tmp" + v + "x") + "\n"),
        "env-key": lambda v: manifest(spec="  env: {" + q("K" + v + "X") + ": v}\n"),
        "env-value": lambda v: manifest(spec="  env: {K: " + q("v" + v + "ExecStartPre=/bin/evil") + "}\n"),
        "secret": lambda v: manifest(spec="  checkin: {secret: " + q("s" + v + "x") + "}\n"),
        "selector": lambda v: manifest(spec="  agent: {selector: {role: " + q("db" + v + "x") + "}}\n"),
    }
    field_path = {"name": "metadata.name", "tenant": "metadata.tenant", "id": "metadata.id",
                  "label-key": "metadata.labels", "label-value": "metadata.labels.k",
                  "annotation": "metadata.annotations.k", "schedule": "spec.schedule",
                  "timezone": "spec.timezone", "command": "spec.command", "args": "spec.args[0]",
                  "workingdir": "spec.workingDir", "env-key": "spec.env",
                  "env-value": "spec.env.K", "secret": "spec.checkin.secret",
                  "selector": "spec.agent.selector.role"}
    for fname, make in fields.items():
        for cname, c in controls.items():
            path = "control/%s-%s.yaml" % (fname, cname)
            name = "job"
            text = make(c)
            # Give each file its own job name, so that accepted ones do not collide.
            if fname != "name":
                name = "%s-%s" % (fname, cname)
                text = text.replace("name: job\n", "name: %s\n" % name, 1)
            if c == "\0":
                nul_field = {"env-key": "spec.env", "label-key": "metadata.labels"}
                add(path, text, "error", nul_field.get(fname, field_path[fname]), "NUL character")
            elif fname == "name":
                add(path, text, "error", "metadata.name", "invalid name")
            elif fname == "env-key":
                key = "K" + c + "X"
                if ord(c) < 0x20 or c == "\x7f":
                    key = '"K\\x%02xX"' % ord(c)
                add(path, text, "error", "spec.env." + key, "must match [A-Za-z_][A-Za-z0-9_]*")
            elif fname in ("schedule", "timezone", "id") and (ord(c) < 0x20 or c == "\x7f"):
                add(path, text, "error", field_path[fname], "must not contain control characters")
            elif fname == "schedule":
                # NEL and LINE SEPARATOR are not control characters: the cron parser refuses them.
                add(path, text, "error", "spec.schedule", "invalid cron expression")
            elif fname == "timezone":
                add(path, text, "error", "spec.timezone", "unknown time zone")
            elif fname == "selector":
                # A selector that does not match this agent: valid, simply not installed here.
                add(path, text, "unselected", "control/" + name, "")
            else:
                add(path, text, "ok", "control/" + name, "")

    # '%' in commands and shell metacharacters in args: carried, never interpreted by cron.
    metas = ["50%", "%%", "date +%s", "a\\%b", "$(touch /tmp/pwned)", "`id`", "a; rm -rf /",
             "a && b", "a | b", "> /etc/passwd", "'", '"', "\\", "*", "~root", "${IFS}",
             "\\n", "--state-dir=/", "'; echo injected '"]
    for i, m in enumerate(metas):
        add("meta/command-%02d.yaml" % i, manifest(name="command-%02d" % i, command=q("echo " + m)),
            "ok", "meta/command-%02d" % i)
        add("meta/args-%02d.yaml" % i,
            manifest(name="args-%02d" % i, spec="  args: [" + q(m) + ", " + q("x " + m) + "]\n"),
            "ok", "meta/args-%02d" % i)

    # Names that are path traversals or otherwise not names.
    bad_names = {"dotdot": "../../etc/passwd", "dot": ".", "dotdot-only": "..",
                 "absolute": "/etc/passwd", "slash": "a/b", "backslash": q("a\\\\b"),
                 "hidden": ".hidden", "space": q("a b"), "upper": "Job", "leading-dash": q("-a"),
                 "trailing-dash": "a-", "too-long": "a" * 64, "empty": q(""),
                 "percent": q("a%2fb"), "star": q("a*"), "tilde": q("~root"),
                 "shell": q("$(id)"), "quote": q("a'b")}
    for key, value in bad_names.items():
        add("names/%s.yaml" % key, manifest(name=value), "error", "metadata.name", "invalid name")

    # Unicode lookalikes in names and in the namespace directory.
    lookalikes = {"cyrillic-a": "\u0430pp", "armenian-o": "\u0585ps", "fullwidth": "\uff4aob",
                  "zero-width": "jo\u200bb", "hyphen": "job\u2010x", "combining": "jo\u0301b",
                  "turkish-i": "\u0131nit", "greek-o": "j\u03bfb", "nbsp": "jo\u00a0b",
                  "rtl-override": "job\u202ex"}
    for key, value in lookalikes.items():
        add("unicode/%s.yaml" % key, manifest(name=q(value)), "error", "metadata.name", "invalid name")
    # A namespace directory is not a field: the error is the file's, naming the directory.
    for ns in ("\u0440rod", "Prod", "bad_ns"):
        add(ns + "/job.yaml", manifest(), "error", "", 'directory "%s" is not a valid namespace' % ns)

    # Another namespace claimed in metadata: the directory wins (a warning), so the job is
    # installed in its own directory's namespace and can never replace another team's job.
    add("team-a/claims-team-b.yaml", manifest(name="shared", metadata="  namespace: team-b\n"),
        "ok", "team-a/shared")
    add("team-b/shared.yaml", manifest(name="shared"), "ok", "team-b/shared")
    add("team-a/claims-traversal.yaml",
        manifest(name="traversal", metadata="  namespace: ../../etc\n"), "ok", "team-a/traversal")
    # Two files with one identity: a conflict, neither applied.
    add("clash/one.yaml", manifest(name="same"), "error", "metadata.name",
        "also defined by clash/two.yaml; neither file is applied")
    add("clash/two.yaml", manifest(name="same"), "error", "metadata.name",
        "also defined by clash/one.yaml; neither file is applied")

    # Structure: alias bombs, deep nesting, duplicate keys, several documents, empty files.
    bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        prev = "*a%d" % (i - 1)
        bomb += "a%d: &a%d [%s]\n" % (i, i, ", ".join([prev] * 10))
    add("structure/billion-laughs.yaml", bomb + manifest(name="bomb"), "error", "", "alias bomb")
    add("structure/alias-in-name.yaml",
        "x: &n ../../etc\n" + manifest(name="*n"), "error", "metadata.name", "invalid name")
    add("structure/alias-in-labels.yaml",
        manifest(name="aliaslabels", metadata="  labels: &l {a: b}\n  annotations: *l\n"),
        "ok", "structure/aliaslabels")
    add("structure/undefined-alias.yaml", manifest(name="*nothing"), "error", "", "has no anchor")
    add("structure/deep-flow.yaml", manifest(name="deepflow", metadata="  labels: " + "[" * 200 + "]" * 200 + "\n"), "error", "", "nesting deeper than 32")
    add("structure/deep-block.yaml",
        manifest(name="deepblock", metadata="  labels:\n" + "".join("  " * (i + 2) + "k%d:\n" % i for i in range(40))),
        "error", "", "nesting deeper than 32")
    add("structure/unclosed-flow.yaml", manifest(name="unclosed", metadata="  labels: " + "[" * 5000 + "\n"), "error", "", "nesting deeper than 32")
    add("structure/duplicate-top.yaml", manifest(name="duptop") + "kind: Job\n", "error", "", 'duplicate key "kind"')
    add("structure/duplicate-metadata.yaml",
        manifest(name="dupmeta", metadata="  name: other\n"), "error", "", 'duplicate key "name"')
    add("structure/duplicate-spec.yaml", manifest(name="dupspec", spec="  command: /bin/evil\n"),
        "error", "", 'duplicate key "command"')
    add("structure/duplicate-env.yaml", manifest(name="dupenv", spec="  env: {A: 1, A: 2}\n"),
        "error", "", 'duplicate key "A"')
    add("structure/two-documents.yaml", manifest(name="twodocs") + "---\n" + manifest(name="second"),
        "error", "", "more than one YAML document")
    add("structure/empty.yaml", "", "error", "", "no YAML document")
    add("structure/comment-only.yaml", "# nothing\n", "error", "", "no YAML document")
    add("structure/top-level-list.yaml", "- a\n- b\n", "error", "", "must be a YAML mapping")
    add("structure/top-level-scalar.yaml", "just text\n", "error", "", "must be a YAML mapping")
    add("structure/binary.yaml", "\ufeff\u0001\u0002garbage: [\n", "error", "", "YAML syntax")
    add("structure/tab-indent.yaml", manifest(name="tabs").replace("  name", "\tname"), "error", "", "YAML syntax")
    # YAML 1.2 has no merge keys: "<<" is an unknown key (a warning), the job keeps its own
    # schedule and command.
    add("structure/merge-key.yaml",
        "base: &b {schedule: '* * * * *', command: /bin/evil}\n" +
        manifest(name="merge", spec="  <<: *b\n"), "ok", "structure/merge")

    # Wrong types.
    wrong = {
        "name-list": (manifest(name="[a, b]"), "metadata.name"),
        "name-map": (manifest(name="{a: b}"), "metadata.name"),
        "metadata-list": ("apiVersion: v1\nkind: Job\nmetadata: [a]\nspec: {schedule: '* * * * *', command: x}\n", "metadata"),
        "spec-string": ("apiVersion: v1\nkind: Job\nmetadata: {name: specstr, tenant: a}\nspec: run it\n", "spec"),
        "schedule-number": (manifest(name="schednum", schedule="5"), "spec.schedule"),
        "schedule-list": (manifest(name="schedlist", schedule="[0, 2, '*', '*', '*']"), "spec.schedule"),
        "command-list": (manifest(name="cmdlist", command="[/bin/true, x]"), "spec.command"),
        "command-map": (manifest(name="cmdmap", command="{a: b}"), "spec.command"),
        "args-string": (manifest(name="argsstr", spec="  args: -x\n"), "spec.args"),
        "args-map": (manifest(name="argsmap", spec="  args: [{a: b}]\n"), "spec.args[0]"),
        "env-list": (manifest(name="envlist", spec="  env: [A=b]\n"), "spec.env"),
        "env-nested": (manifest(name="envnest", spec="  env: {A: {b: c}}\n"), "spec.env.A"),
        "labels-list": (manifest(name="labelslist", metadata="  labels: [a]\n"), "metadata.labels"),
        "enabled-string": (manifest(name="enstr", spec="  enabled: \"true\"\n"), "spec.enabled"),
        "enabled-yes": (manifest(name="enyes", spec="  enabled: yes\n"), "spec.enabled"),
        "paused-number": (manifest(name="pausednum", spec="  paused: 1\n"), "spec.paused"),
        "timeout-string": (manifest(name="tostr", spec="  checkin: {timeout: \"3600\"}\n"), "spec.checkin.timeout"),
        "timeout-float": (manifest(name="tofloat", spec="  checkin: {timeout: 3600.5}\n"), "spec.checkin.timeout"),
        "timeout-negative": (manifest(name="toneg", spec="  checkin: {timeout: -1}\n"), "spec.checkin.timeout"),
        "timeout-zero": (manifest(name="tozero", spec="  checkin: {timeout: 0}\n"), "spec.checkin.timeout"),
        "timeout-huge": (manifest(name="tohuge", spec="  checkin: {timeout: 99999999999999999999999}\n"), "spec.checkin.timeout"),
        "timeout-inf": (manifest(name="toinf", spec="  checkin: {timeout: .inf}\n"), "spec.checkin.timeout"),
        "attempts-over": (manifest(name="attover", spec="  retry: {attempts: 101}\n"), "spec.retry.attempts"),
        "backoff-unknown": (manifest(name="backoff", spec="  retry: {backoff: linear}\n"), "spec.retry.backoff"),
        "selector-list": (manifest(name="sellist", spec="  agent: {selector: [a]}\n"), "spec.agent.selector"),
        "api-version": (manifest(name="apiv2").replace("apiVersion: v1", "apiVersion: v2"), "apiVersion"),
        "kind-pod": (manifest(name="pod").replace("kind: Job", "kind: Pod"), "kind"),
        "missing-command": (manifest(name="nocmd").replace("  command: /bin/true\n", ""), "spec.command"),
        "missing-tenant": (manifest(name="notenant").replace("  tenant: acme\n", ""), "metadata.tenant"),
        "empty-command": (manifest(name="emptycmd", command='""'), "spec.command"),
        "relative-workingdir": (manifest(name="relwd", spec="  workingDir: ../../etc\n"), "spec.workingDir"),
        "timezone-path": (manifest(name="tzpath", spec="  timezone: ../../../../etc/passwd\n"), "spec.timezone"),
        "timezone-absolute": (manifest(name="tzabs", spec="  timezone: /usr/share/zoneinfo/UTC\n"), "spec.timezone"),
        "timezone-unknown": (manifest(name="tzunknown", spec="  timezone: Mars/Olympus\n"), "spec.timezone"),
        "env-key-shell": (manifest(name="envshell", spec="  env: {\"A;B\": x}\n"), "spec.env.A;B"),
        "env-key-equals": (manifest(name="envequals", spec="  env: {\"A=B\": x}\n"), "spec.env.A=B"),
        "schedule-six-fields": (manifest(name="sixfields", schedule='"0 0 2 * * *"'), "spec.schedule"),
        "schedule-injection": (manifest(name="schedinj", schedule='"* * * * * root /bin/evil"'), "spec.schedule"),
        "schedule-reboot-args": (manifest(name="rebootargs", schedule='"@reboot /bin/evil"'), "spec.schedule"),
    }
    messages = {
        "api-version": "must be \"v1\", found \"v2\"",
        "args-map": "expected a string, found a mapping",
        "args-string": "expected a list of strings, found a scalar",
        "attempts-over": "expected an integer from 0 to 100",
        "backoff-unknown": "must be \"fixed\" or \"exponential\"",
        "command-list": "expected a string, found a list",
        "command-map": "expected a string, found a mapping",
        "empty-command": "must not be empty",
        "enabled-string": "expected true or false, found the string",
        "enabled-yes": "expected true or false, found \"yes\"",
        "env-key-equals": "environment variable name",
        "env-key-shell": "environment variable name",
        "env-list": "expected a mapping of strings, found a list",
        "env-nested": "expected a string, found a mapping",
        "kind-pod": "must be \"Job\", found \"Pod\"",
        "labels-list": "expected a mapping of strings, found a list",
        "metadata-list": "expected a mapping, found a list",
        "missing-command": "required field is missing",
        "missing-tenant": "required field is missing",
        "name-list": "expected a string, found a list",
        "name-map": "expected a string, found a mapping",
        "paused-number": "expected true or false, found \"1\"",
        "relative-workingdir": "must be an absolute path",
        "schedule-injection": "invalid cron expression",
        "schedule-list": "expected a string, found a list",
        "schedule-number": "invalid cron expression",
        "schedule-reboot-args": "unexpected text after '@reboot'",
        "schedule-six-fields": "expected 5 fields",
        "selector-list": "expected a mapping of strings, found a list",
        "spec-string": "expected a mapping, found a scalar",
        "timeout-float": "expected an integer from 1 to 604800",
        "timeout-huge": "expected an integer from 1 to 604800",
        "timeout-inf": "expected an integer from 1 to 604800",
        "timeout-negative": "expected an integer from 1 to 604800",
        "timeout-string": "expected an integer from 1 to 604800, found the string",
        "timeout-zero": "expected an integer from 1 to 604800",
        "timezone-absolute": "not a path",
        "timezone-path": "not a path",
        "timezone-unknown": "unknown time zone",
    }
    for key, (text, field) in wrong.items():
        add("types/%s.yaml" % key, text, "error", field, messages[key])
    # Tags are not interpreted (the manifest reader takes the scalar's text): harmless, applied.
    add("types/binary-tag.yaml", manifest(name="bintag", command="!!binary aGVsbG8="), "ok",
        "types/bintag")
    add("types/custom-tag.yaml", manifest(name="customtag", command="!shell /bin/evil"), "ok",
        "types/customtag")

    # Made by the test: too big for git to carry comfortably, or symlinks.
    generated("generated/huge-comment.yaml", "error", "", "larger than 1 MiB")
    generated("generated/huge-command.yaml", "error", "", "larger than 1 MiB")
    generated("generated/passwd-link.yaml", "error", "", "outside the repository")
    generated("generated/outside-link.yaml", "error", "", "outside the repository")
    generated("generated/dotdot-link.yaml", "error", "", "outside the repository")

    # Valid manifests in the same repository: these must be applied whatever the rest holds.
    add("valid/backup.yaml", manifest(name="backup", command="/usr/local/bin/backup --all"), "ok", "valid/backup")
    add("valid/report.yaml", manifest(name="report", schedule='"*/15 9-17 * * 1-5"',
                                      spec="  timezone: Europe/Berlin\n  args: [\"--format=pdf\"]\n"),
        "ok", "valid/report")
    add("valid/paused.yaml", manifest(name="paused", spec="  paused: true\n"), "ok", "valid/paused")
    add("job.yaml", manifest(name="rooted", schedule='"@daily"'), "ok", "default/rooted")

    with open(os.path.join(HERE, "expected.tsv"), "w", encoding="utf-8") as f:
        f.write("# path\toutcome\tfield or identity\tmessage (generate.py writes this file)\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    print("%d cases" % len(rows))


main()
