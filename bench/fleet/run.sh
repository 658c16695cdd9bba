#!/usr/bin/env bash
# Fleet simulation (issue 9): one git HTTP server on 127.0.0.1 (git http-backend behind
# tests/git/git_http_server.py), N standalone agents (default 200), each with its own state
# directory and a cron.d-format file as its scheduler (no real crontab is touched), polling every
# 5 s one repository of 1,000 manifests. Phase 1: 2 minutes unchanged. Phase 2: 2 minutes with a
# commit every 20 s, timing commit -> every agent applied. Heavy: runs under `nice`.
#
#   bench/fleet/run.sh [BUILD_DIR] [AGENTS] [SECONDS_PER_PHASE]
# A benchmark, not a test: scripts/test does not run it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "${1:-build}")
agents=${2:-200}
seconds=${3:-120}
[ -x "$build/bin/crontopus-agent" ] || {
  echo "no $build/bin/crontopus-agent: cmake --build $build --target crontopus-agent cron git" >&2
  exit 1
}
[ -e "$build/lib/crontopus/plugins/crontopus-cron.so" ] && [ -e "$build/lib/crontopus/plugins/crontopus-git.so" ] || {
  echo "the cron and git plugins are not built: cmake --build $build --target cron git" >&2
  exit 1
}
# 200 agents hold ~4 descriptors each plus the server's sockets and pipes.
ulimit -n 65536 2>/dev/null || ulimit -n 4096
exec nice -n 10 /usr/bin/python3 -u "$here/fleet.py" --agent "$build/bin/crontopus-agent" \
  --server "$here/../../tests/git/git_http_server.py" --agents "$agents" --seconds "$seconds"
