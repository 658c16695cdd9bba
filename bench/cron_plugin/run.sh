#!/usr/bin/env bash
# Builds and runs the cron backend benchmark (as root: it creates and removes a throwaway user).
#   bench/cron_plugin/run.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-build-cronplugin}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target cron_plugin_bench -j "${JOBS:-2}"
exec "$build/bin/cron_plugin_bench" "$@"
