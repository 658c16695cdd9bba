#!/usr/bin/env bash
# CPU of one run of each given run wrapper, as cron starts it (cron's environment), with `perf stat -r RUNS` (task-clock
# of the wrapper and its job, `/bin/sh -c true`), per case: standalone, checkin.enabled false, a
# check-in answered 201 over plain http, and over https (self-signed, backend.ca_file). The fake
# control plane of tests/controlplane runs on 127.0.0.1. Cases run one after another for every
# wrapper, so wrappers compared in one call share the machine's load.
#
#   bench/controlplane/perf_stat.sh [-r RUNS] WRAPPER...
#   e.g. bench/controlplane/perf_stat.sh -r 50 old/bin/crontopus-run build/bin/crontopus-run
set -euo pipefail
runs=50
if [ "${1:-}" = -r ]; then runs=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [-r RUNS] WRAPPER..." >&2; exit 2; }
for tool in perf python3 openssl; do
  command -v "$tool" >/dev/null || { echo "$tool missing" >&2; exit 1; }
done
here=$(cd "$(dirname "$0")" && pwd)
fake="$here/../../tests/controlplane/fake_control_plane.py"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# Starts the fake control plane; sets `port` to its API port once it listens (10 s at most).
start_fake() {
  local out=$1 word api
  shift
  python3 "$fake" "$@" >"$out" 2>"$out.err" &
  pids+=($!)
  for _ in $(seq 200); do
    if read -r word api _ <"$out" 2>/dev/null && [ "$word" = PORTS ]; then port=$api; return; fi
    sleep 0.05
  done
  echo "the fake control plane did not start: $(cat "$out.err")" >&2
  exit 1
}
start_fake "$work/http.ports"
http_port=$port
start_fake "$work/https.ports" --cert "$work/cert.pem" --key "$work/key.pem"
https_port=$port

# A state directory enrolled with one server: its token file and one run spec per job.
state() {
  local dir=$1 url=$2 ca=$3
  mkdir -m 700 -p "$dir/jobs/bench"
  python3 - "$dir" "$url" "$ca" <<'PY'
import json, os, ssl, sys, urllib.request
state, url, ca = sys.argv[1:4]
context = ssl.create_default_context(cafile=ca) if ca else None
request = urllib.request.Request(url + "/api/endpoints/enroll", data=b'{"name": "bench"}',
                                 headers={"Authorization": "Bearer enroll-secret",
                                          "Content-Type": "application/json"})
answer = json.load(urllib.request.urlopen(request, context=context))
def private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
private(state + "/agent-token", json.dumps({"agent_id": answer["agent_id"], "token": answer["token"]}))
for name, api_url, checkin in (("standalone", "", True), ("disabled", url, False), ("report", url, True)):
    spec = {"version": 1, "namespace": "bench", "name": name, "command": "true", "args": [],
            "env": {}, "working_dir": "", "schedule": "* * * * *", "timezone": "", "gate": "",
            "timeout_seconds": 3600,
            "retry": {"enabled": False, "attempts": 0, "backoff": "fixed"},
            "checkin": {"enabled": checkin, "secret": ""},
            "control_plane": {"api_url": api_url, "token_path": state + "/agent-token",
                              "spool_dir": state + "/spool", "ca_file": ca,
                              "allow_insecure_http": False}}
    private(state + "/jobs/bench/" + name + ".json", json.dumps(spec))
PY
}
state "$work/http" "http://127.0.0.1:$http_port" ""
state "$work/https" "https://localhost:$https_port" "$work/cert.pem"

measure() {
  local what=$1
  shift
  local out
  # cron's environment (no SSL_CERT_FILE or SSL_CERT_DIR, which change the CA store's cost).
  out=$(env -i HOME="$HOME" LOGNAME="$(id -un)" PATH=/usr/bin:/bin SHELL=/bin/sh \
    "$(command -v perf)" stat -r "$runs" "$@" 2>&1 >/dev/null)
  printf '%-58s %8s ms CPU (+- %s)  %8s s wall\n' "$what" \
    "$(awk '/task-clock/ {print $1}' <<<"$out")" \
    "$(awk '/task-clock/ {for (i = 1; i <= NF; i++) if ($i == "+-") print $(i + 1)}' <<<"$out")" \
    "$(awk '/elapsed/ {print $1}' <<<"$out")"
}

echo "perf stat -r $runs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
measure "job alone (/bin/sh -c true)" /bin/sh -c true
for case in "http standalone" "http disabled" "http report" "https report"; do
  read -r scheme job <<<"$case"
  label=$job
  [ "$job" != report ] || label="check-in over $scheme, 201"
  for wrapper in "$@"; do
    measure "$wrapper: $label" \
      "$wrapper" run --state-dir "$work/$scheme" "bench/$job"
  done
done
# Every report run above must have been delivered, not spooled.
for scheme in http https; do
  if [ -n "$(ls -A "$work/$scheme/spool" 2>/dev/null)" ]; then
    echo "FAIL: check-ins spooled in $work/$scheme/spool (not delivered)" >&2
    exit 1
  fi
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
