#!/usr/bin/env bash
# Builds the .deb from this build tree (cpack -G DEB into a scratch directory), unpacks it with
# dpkg -x into a scratch root and checks it from there: control fields and dependencies, every
# file in place, the extracted agent runs (--version, plugins) with its own SDK library and its
# own plugins and no flag, and systemd-analyze verify passes on the extracted units.
set -euo pipefail
build_dir=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/verify_units.sh"
for tool in cpack dpkg-deb dpkg-shlibdeps systemd-analyze; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (see scripts/packages.txt)"; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cpack -G DEB --config "$build_dir/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; echo "FAIL: cpack -G DEB"; exit 1; }
debs=("$work"/out/crontopus-agent_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || { echo "FAIL: expected one .deb in $work/out"; ls -R "$work/out"; exit 1; }
deb=${debs[0]}
echo "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"

[ "$(dpkg-deb -f "$deb" Package)" = crontopus-agent ] || { echo "FAIL: package name"; exit 1; }
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libpocofoundation80 libpocoutil80 libpoconet80 libpoconetssl80 libpocojson80 \
           libyaml-cpp0.7 libgit2-1.5 libdate-tz3 libyaml-0-2 libstdc++6; do
  tr ',' '\n' <<<"$depends" | sed 's/^ *//; s/ .*//' | grep -xF "$lib" >/dev/null ||
    { echo "FAIL: Depends lacks $lib"; exit 1; }
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -x /etc/crontopus/config.example.yaml >/dev/null ||
  { echo "FAIL: config.example.yaml is not a conffile"; exit 1; }

[ "$(dpkg-deb -f "$deb" Depends | cut -d, -f1)" = adduser ] || { echo "FAIL: Depends lacks adduser"; exit 1; }

# postinst creates the unit's user once, with the state directory as its home: run it with
# getent/adduser/ldconfig replaced by recorders (a real run would change this machine's users).
ctrl="$work/control"
dpkg-deb -e "$deb" "$ctrl"
shims="$work/shims"
mkdir -p "$shims"
printf '#!/bin/sh\necho "getent $*" >>"%s/calls"\n[ -e "%s/user-exists" ]\n' "$work" "$work" >"$shims/getent"
printf '#!/bin/sh\necho "adduser $*" >>"%s/calls"\n' "$work" >"$shims/adduser"
printf '#!/bin/sh\necho ldconfig >>"%s/calls"\n' "$work" >"$shims/ldconfig"
chmod +x "$shims"/*
PATH="$shims:$PATH" sh -e "$ctrl/postinst" configure
grep -qx "adduser --system --group --quiet --home /var/lib/crontopus --no-create-home --shell /usr/sbin/nologin --gecos Crontopus agent crontopus" "$work/calls" ||
  { cat "$work/calls"; echo "FAIL: postinst did not create the crontopus system user"; exit 1; }
grep -qx ldconfig "$work/calls" || { echo "FAIL: postinst did not run ldconfig"; exit 1; }
: >"$work/calls"
touch "$work/user-exists"
PATH="$shims:$PATH" sh -e "$ctrl/postinst" configure
if grep -q '^adduser' "$work/calls"; then echo "FAIL: postinst re-created an existing user"; exit 1; fi

root="$work/root"
dpkg -x "$deb" "$root"
for f in usr/bin/crontopus-agent usr/bin/crontopus-run usr/lib/libcrontopus-sdk.so.1 \
         usr/lib/crontopus/plugins/crontopus-cron.so usr/lib/crontopus/plugins/crontopus-git.so \
         usr/lib/crontopus/plugins/crontopus-systemd-timer.so \
         usr/lib/crontopus/plugins/crontopus-taskscheduler.so usr/lib/crontopus/crontopus-tls.so \
         usr/include/crontopus/sdk/Plugin.h usr/lib/cmake/CrontopusSDK/CrontopusSDKConfig.cmake \
         etc/crontopus/config.example.yaml lib/systemd/system/crontopus-agent.service \
         usr/lib/systemd/user/crontopus-agent.service; do
  [ -e "$root/$f" ] || { echo "FAIL: /$f missing from the .deb"; exit 1; }
done
# Nothing from a /usr/local (or any other) prefix leaks into the package.
if [ -n "$(find "$root" -path "$root/usr/local*")" ]; then echo "FAIL: /usr/local in the .deb"; exit 1; fi
grep -qx "ExecStart=/usr/bin/crontopus-agent --config /etc/crontopus/config.yaml" \
  "$root/lib/systemd/system/crontopus-agent.service" || { echo "FAIL: system unit's ExecStart"; exit 1; }
grep -qx "ExecStart=/usr/bin/crontopus-agent --config %h/.crontopus/config.yaml" \
  "$root/usr/lib/systemd/user/crontopus-agent.service" || { echo "FAIL: user unit's ExecStart"; exit 1; }
cmp "$root/etc/crontopus/config.example.yaml" "$here/../../etc/config.example.yaml"

agent="$root/usr/bin/crontopus-agent"
sdk=$(ldd "$agent" | sed -n 's/^[[:space:]]*libcrontopus-sdk\.so\.1 => \(.*\) (0x.*/\1/p')
[ -n "$sdk" ] && [ "$(realpath "$sdk")" = "$(realpath "$root/usr/lib/libcrontopus-sdk.so.1")" ] ||
  { ldd "$agent"; echo "FAIL: the extracted agent does not use the extracted SDK library"; exit 1; }
version=$("$agent" --version)
echo "$version"
[ "$version" = "crontopus-agent $(dpkg-deb -f "$deb" Version)" ] || { echo "FAIL: --version"; exit 1; }
# The shipped example config loads, and the plugins are found beside the binary without a flag.
out=$("$agent" --config "$root/etc/crontopus/config.example.yaml" plugins)
echo "$out"
grep -q "plugins directory: $root/usr/lib/crontopus/plugins" <<<"$out" ||
  { echo "FAIL: the extracted agent did not look in its own plugins directory"; exit 1; }
for id in cron git systemd-timer taskscheduler; do
  grep -Eq "^$id +(scheduler|source) +[0-9.]+ +loaded" <<<"$out" || { echo "FAIL: plugin $id not loaded"; exit 1; }
done

# The HTTPS module is found beside the binaries without a flag: `config` loads it for an https://
# api_url as the daemon would, and refuses a module that is missing or that others can write.
printf 'agent: {state_dir: %s}\nbackend: {api_url: "https://cp.example.com"}\n' "$work/state" >"$work/https.yaml"
tls="$root/usr/lib/crontopus/crontopus-tls.so"
"$agent" --config "$work/https.yaml" config >/dev/null || { echo "FAIL: the extracted agent cannot load $tls"; exit 1; }
mv "$tls" "$work/tls.so"
if out=$("$agent" --config "$work/https.yaml" config 2>&1); then echo "FAIL: config passed without $tls"; exit 1; fi
grep -qF "HTTPS support module $tls is missing" <<<"$out" || { echo "$out"; echo "FAIL: missing module not named"; exit 1; }
mv "$work/tls.so" "$tls"
chmod g+w "$tls"
if out=$("$agent" --config "$work/https.yaml" config 2>&1); then echo "FAIL: config accepted a group-writable $tls"; exit 1; fi
grep -qF "HTTPS support module $tls refused: $tls: writable by group or others" <<<"$out" ||
  { echo "$out"; echo "FAIL: group-writable module not refused"; exit 1; }
chmod g-w "$tls"

verify_units "$root" /lib/systemd/system/crontopus-agent.service
verify_units "$root" /usr/lib/systemd/user/crontopus-agent.service
echo ".deb: OK"
