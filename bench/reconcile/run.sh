#!/usr/bin/env bash
# Reconcile benchmark (issue 5): N generated manifests in a local Git repository, applied by the
# real agent as a throwaway user to that user's real crontab (N = 100, 1,000, 4,000) and to a
# cron.d-format file (N = 10,000). Reports first-apply wall/CPU/peak RSS, the number of crontab
# invocations, the cost of an unchanged cycle, and the idle memory of the running daemon; and, per
# case, the floor: what creating the 2N files a first apply needs costs this file system alone.
#
#   bench/reconcile/run.sh [BUILD_DIR]      (as root: it creates and removes a user)
#   CASES="1000:crontab" bench/reconcile/run.sh   (a subset)
#   WORK_DIR=/mnt/x bench/reconcile/run.sh         (repositories and state on another file system)
set -euo pipefail
build=$(realpath "${1:-build}")
[ "$(id -u)" -eq 0 ] || { echo "run as root (creates a throwaway user)" >&2; exit 1; }
user="ctbench$$"
work=$(mktemp -d "${WORK_DIR:-/tmp}/crontopus-bench.XXXXXX")
cleanup() { crontab -u "$user" -r 2>/dev/null || true; userdel -r "$user" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
useradd -m "$user"
chmod 755 "$work"
# A copy of the build the throwaway user can execute.
mkdir -p "$work/prefix/bin" "$work/prefix/lib/crontopus/plugins"
cp "$build/bin/crontopus-agent" "$work/prefix/bin/"
cp -P "$build"/lib/libcrontopus-sdk.so* "$work/prefix/lib/"
cp "$build"/lib/crontopus/plugins/*.so "$work/prefix/lib/crontopus/plugins/"
chmod -R go-w "$work/prefix"
# Count crontab invocations with a wrapper that logs and execs the real binary.
cat > "$work/prefix/bin/crontab-counting" <<'SH'
#!/bin/sh
echo "$*" >> "$CRONTAB_LOG"
exec /usr/bin/crontab "$@"
SH
chmod 755 "$work/prefix/bin/crontab-counting"
agent="$work/prefix/bin/crontopus-agent"
home=$(getent passwd "$user" | cut -d: -f6)

generate() {  # generate N DIR
  local n=$1 dir=$2
  mkdir -p "$dir"
  /usr/bin/python3 - "$n" "$dir" <<'PY'
import os, sys
n, d = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    ns = "ns%d" % (i % 10)
    os.makedirs(os.path.join(d, ns), exist_ok=True)
    with open(os.path.join(d, ns, "job-%05d.yaml" % i), "w") as f:
        f.write("apiVersion: v1\nkind: Job\nmetadata:\n  name: job-%05d\n  tenant: bench\n"
                "spec:\n  schedule: \"%d %d * * *\"\n  command: /bin/true\n  args: [\"--n=%d\"]\n"
                % (i, i % 60, (i // 60) % 24, i))
PY
  git -C "$dir" init -q -b main
  git -C "$dir" add -A
  git -C "$dir" -c user.name=b -c user.email=b@b commit -q -m jobs
}

measure() {  # measure LABEL CMD...: wall, CPU (with the children it waited for) and peak RSS,
  # from wait4() as /usr/bin/time, but to the microsecond (time(1) rounds to 10 ms).
  local label=$1; shift
  /usr/bin/python3 - "$label" "$work/out" "$@" <<'PY' || { cat "$work/out"; exit 1; }
import os, subprocess, sys, time
label, out, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
start = time.monotonic()
with open(out, "w") as f:
    child = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(child.pid, 0)
wall = time.monotonic() - start
print("  %-28s wall %7.1f ms  cpu %7.1f ms  peak RSS %6.1f MiB"
      % (label, wall * 1e3, (usage.ru_utime + usage.ru_stime) * 1e3, usage.ru_maxrss / 1024))
sys.exit(0 if os.waitstatus_to_exitcode(status) == 0 else 1)
PY
}

invocations() {  # crontab calls logged by the counting wrapper (none in cron_file mode)
  [ -f "$CRONTAB_LOG" ] || { echo "  crontab invocations: none (cron_file mode)"; return; }
  echo "  crontab invocations: $(wc -l < "$CRONTAB_LOG") ($(grep -c -- '-$' "$CRONTAB_LOG" || true) write)"
}

floor() {  # floor N DIR: what the file system alone charges for the files a first apply must
  # make, 2N small files in fresh directories (N manifests checked out, N run specs), written
  # by a plain loop with no parsing, no git and no rename.
  /usr/bin/python3 - "$1" "$2" <<'PY'
import os, sys, time
n, root = int(sys.argv[1]), sys.argv[2]
data = b"x" * 300
start, cpu = time.monotonic(), time.process_time()
for tree in ("checkout", "jobs"):
    for ns in range(10):
        os.makedirs(os.path.join(root, tree, "ns%d" % ns))
    for i in range(n):
        fd = os.open(os.path.join(root, tree, "ns%d" % (i % 10), "%05d" % i),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        os.close(fd)
print("  %-28s wall %7.1f ms  cpu %7.1f ms" % ("floor: %d files" % (2 * n),
      (time.monotonic() - start) * 1e3, (time.process_time() - cpu) * 1e3))
PY
  rm -rf "$2"
}

run_case() {  # run_case N MODE(crontab|cron_file)
  local n=$1 mode=$2 dir="$work/case-$1-$2"
  mkdir -p "$dir"
  generate "$n" "$dir/repo"
  local options="crontab_command: $work/prefix/bin/crontab-counting"
  if [ "$mode" = cron_file ]; then options="cron_file: $dir/cron.d/crontopus"; mkdir -p "$dir/cron.d"; fi
  cat > "$dir/config.yaml" <<YAML
agent: {state_dir: $dir/state}
git: {url: "file://$dir/repo", local_path: $dir/state/job-manifests}
scheduler: {backend: cron, options: {$options}}
log: {level: warning}
YAML
  chown -R "$user" "$dir"
  export CRONTAB_LOG="$dir/crontab.log"
  echo "N=$n ($mode)"
  floor "$n" "$dir/floor"
  measure "first apply" runuser -u "$user" -- env CRONTAB_LOG="$CRONTAB_LOG" "$agent" --config "$dir/config.yaml" apply
  invocations
  : > "$CRONTAB_LOG"
  measure "unchanged one-shot apply" runuser -u "$user" -- env CRONTAB_LOG="$CRONTAB_LOG" "$agent" --config "$dir/config.yaml" apply
  invocations
  if [ "$mode" = crontab ]; then crontab -u "$user" -r 2>/dev/null || true; fi
}

# CASES="1000:crontab" runs a subset (the daemon part needs 1000:crontab).
for c in ${CASES:-100:crontab 1000:crontab 4000:crontab 10000:cron_file}; do
  run_case "${c%%:*}" "${c##*:}"
done

# The running daemon at N=1,000 (user crontab), every cycle unchanged: CPU per cycle (the agent's
# own threads, from schedstat, ns; `crontab -l` children separately, from /proc/PID/stat ticks),
# crontab writes, and idle memory. sync_interval 1 s, debug log to count the cycles.
dir="$work/case-1000-crontab"
runuser -u "$user" -- env CRONTAB_LOG=/dev/null "$agent" --config "$dir/config.yaml" apply >/dev/null 2>&1 || true
sed -e 's/^git: {/git: {sync_interval: 1, /' -e 's/level: warning/level: debug/' "$dir/config.yaml" > "$dir/daemon.yaml"
chown "$user" "$dir/daemon.yaml"
export CRONTAB_LOG="$dir/crontab.log"
: > "$CRONTAB_LOG"
runuser -u "$user" -- env CRONTAB_LOG="$CRONTAB_LOG" "$agent" --config "$dir/daemon.yaml" 2> "$dir/daemon.log" &
cycles() { grep -c "next cycle in" "$dir/daemon.log" || true; }
cpu_ns() { cat /proc/"$pid"/task/*/schedstat | awk '{ s += $1 } END { print s }'; }
child_ticks() { awk '{ print $16 + $17 }' /proc/"$pid"/stat; }
pid=""
for _ in $(seq 100); do
  pid=$(pgrep -u "$user" -f "crontopus-agent --config $dir/daemon.yaml" | head -n1 || true)
  [ -n "$pid" ] && [ "$(cycles)" -ge 2 ] && break
  sleep 0.1
done
c0=$(cycles); t0=$(cpu_ns); k0=$(child_ticks); w0=$(grep -c -- '-$' "$CRONTAB_LOG" || true)
sleep 30  # a measurement window, not a test
c1=$(cycles); t1=$(cpu_ns); k1=$(child_ticks); w1=$(grep -c -- '-$' "$CRONTAB_LOG" || true)
n=$((c1 - c0))
echo "daemon, N=1000, unchanged cycles:"
awk -v t="$((t1 - t0))" -v n="$n" -v k="$((k1 - k0))" 'BEGIN {
  printf "  %d cycles in 30 s: agent %.2f ms CPU per cycle; crontab -l children %.1f ms per cycle\n",
         n, t / n / 1e6, k * 10 / n }'
echo "  crontab writes during the window: $((w1 - w0))"
echo "idle daemon (N=1000):"
grep -E '^(Rss|Pss|Private_Dirty):' "/proc/$pid/smaps_rollup" | sed 's/^/  /'
kill "$pid"; wait 2>/dev/null || true
