#!/usr/bin/env bash
# Installs the agent and SDK into a temporary prefix, builds project/ out of tree against the
# installed SDK with find_package(CrontopusSDK 1), and checks that the installed agent loads it.
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
plugin=$(find "$work/build" -name 'crontopus-hello.so' | head -n1)
[ -n "$plugin" ] || { echo "FAIL: plugin was not built"; exit 1; }
mkdir -p "$work/plugins"
install -m 0755 "$plugin" "$work/plugins/"
out=$("$work/prefix/bin/crontopus-agent" --plugins-dir "$work/plugins" plugins)
echo "$out"
grep -Eq '^hello +scheduler +1\.2\.3 +loaded' <<<"$out" || { echo "FAIL: hello plugin not loaded"; exit 1; }
# The installed agent finds its own plugins without any flag.
out=$("$work/prefix/bin/crontopus-agent" plugins)
echo "$out"
grep -q "plugins directory: $work/prefix/lib/crontopus/plugins" <<<"$out" || { echo "FAIL: installed plugins dir not found"; exit 1; }
echo "out-of-tree SDK plugin: OK"
