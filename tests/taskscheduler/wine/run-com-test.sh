#!/usr/bin/env bash
# Cross-compiles the Task Scheduler COM layer and the plugin's COM-backed TaskStore with a small
# driver (ComDriver.cpp) using
# mingw-w64, and runs it under a fresh headless wine prefix against wine's Task Scheduler.
#   run-com-test.sh <plugin src/windows dir> <taskscheduler_sample_xml binary> <work dir>
# Installs wine, wine64 and g++-mingw-w64-x86-64-posix when missing (needs root and apt-get).
# When they cannot be installed it fails with a message: it never skips silently.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 <src/windows dir> <sample xml binary> <work dir>" >&2
  exit 2
fi
com_dir=$(cd "$1" && pwd)
sample_xml=$2
work=$3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
cxx=x86_64-w64-mingw32-g++-posix

missing=()
command -v "$cxx" >/dev/null || missing+=(g++-mingw-w64-x86-64-posix)
command -v wine >/dev/null || missing+=(wine)
[ -x /usr/lib/wine/wine64 ] || command -v wine64 >/dev/null || missing+=(wine64)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "FAIL: wine/mingw missing (${missing[*]}) and cannot install them: need root and apt-get" >&2
    echo "      install them (apt-get install wine wine64 g++-mingw-w64-x86-64-posix) and rerun" >&2
    exit 1
  fi
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; then
    apt-get update || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" || {
      echo "FAIL: could not install ${missing[*]}; the wine COM test did not run" >&2
      exit 1
    }
  fi
fi

rm -rf "$work"
mkdir -p "$work"
echo "== cross-compiling the COM layer and the driver with $cxx"
"$cxx" -std=c++20 -O1 -Wall -Wextra -Wpedantic -Werror -static -I"$com_dir" -I"$com_dir/.." \
  -I"$repo/sdk/include" "$here/ComDriver.cpp" "$com_dir/TaskSchedulerCom.cpp" \
  "$com_dir/ComTaskStore.cpp" -lole32 -loleaut32 \
  -o "$work/com-driver.exe"

echo "== rendering sample task XML with the plugin"
"$sample_xml" first > "$work/first.xml"
"$sample_xml" second > "$work/second.xml"

prefix=$(mktemp -d "${TMPDIR:-/tmp}/crontopus-wine-XXXXXX")
export WINEPREFIX=$prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" DISPLAY=
cleanup() {
  wineserver -k >/dev/null 2>&1 || true
  rm -rf "$prefix"
}
trap cleanup EXIT

echo "== fresh wine prefix $prefix"
timeout 180 wine wineboot --init >"$work/wineboot.log" 2>&1 || {
  echo "FAIL: wineboot --init failed; see $work/wineboot.log" >&2
  tail -20 "$work/wineboot.log" >&2
  exit 1
}

# Let wineboot's processes finish, then start the Task Scheduler service explicitly: on a fresh
# prefix the implicit start from ITaskService::Connect does not come up while they linger.
timeout 60 wineserver -w || true
timeout 100 wine net start schedule 2>&1 | grep -v -i multiarch || true

echo "== running the driver"
cd "$work"
timeout 120 wine com-driver.exe first.xml second.xml
