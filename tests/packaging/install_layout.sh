#!/usr/bin/env bash
# `cmake --install` into a scratch root (DESTDIR, so the configured paths are the real ones):
# the service files are in place with the installed binary's path, both systemd units pass
# systemd-analyze verify, the launchd plist is well-formed XML and a plist of the right shape.
set -euo pipefail
build_dir=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/verify_units.sh"
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze missing (apt-get install systemd)"; exit 1; }
command -v xmllint >/dev/null || { echo "FAIL: xmllint missing (apt-get install libxml2-utils)"; exit 1; }
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build_dir/CMakeCache.txt")
[ -n "$prefix" ] || { echo "FAIL: no CMAKE_INSTALL_PREFIX in $build_dir/CMakeCache.txt"; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
DESTDIR="$root" cmake --install "$build_dir" >/dev/null

bin="$prefix/bin/crontopus-agent"
share="$root$prefix/share/crontopus"
for f in "$root$bin" "$root$prefix/bin/crontopus-run" "$root$prefix/lib/crontopus/plugins/crontopus-cron.so" \
         "$root$prefix/lib/crontopus/crontopus-tls.so" \
         "$share/crontopus-agent.service" "$share/crontopus-agent-user.service" \
         "$share/com.crontopus.agent.plist" "$share/config.example.yaml"; do
  [ -e "$f" ] || { echo "FAIL: $f was not installed"; exit 1; }
done
# A plain install stays inside its prefix: the /lib/systemd and /etc copies are the .deb's only.
[ ! -e "$root/lib/systemd/system/crontopus-agent.service" ] || { echo "FAIL: plain install wrote /lib/systemd"; exit 1; }
[ ! -e "$root/etc/crontopus" ] || { echo "FAIL: plain install wrote /etc/crontopus"; exit 1; }
cmp "$share/config.example.yaml" "$(dirname "$0")/../../etc/config.example.yaml"

grep -qx "ExecStart=$bin --config /etc/crontopus/config.yaml" "$share/crontopus-agent.service" ||
  { echo "FAIL: system unit's ExecStart"; grep ExecStart "$share/crontopus-agent.service"; exit 1; }
grep -qx "ExecStart=$bin --config %h/.crontopus/config.yaml" "$share/crontopus-agent-user.service" ||
  { echo "FAIL: user unit's ExecStart"; exit 1; }
grep -qx "WantedBy=default.target" "$share/crontopus-agent-user.service" || { echo "FAIL: user unit's WantedBy"; exit 1; }
for key in "User=crontopus" "PrivateTmp=yes" "ProtectSystem=strict" "ProtectHome=read-only" \
           "ReadWritePaths=/var/lib/crontopus -/var/spool/cron/crontabs" "NoNewPrivileges=no"; do
  grep -qx "$key" "$share/crontopus-agent.service" || { echo "FAIL: system unit lacks $key"; exit 1; }
done
if grep -n '@' "$share"/*.service "$share/com.crontopus.agent.plist" | grep -v 'plist PUBLIC'; then
  echo "FAIL: unconfigured @VARIABLE@ left"; exit 1
fi

# Units as systemd would load them from /etc/systemd/system (the user unit checked in system mode:
# its %h resolves to root's home, every key and ExecStart= are checked the same way).
mkdir -p "$root/etc/systemd/system"
cp "$share/crontopus-agent.service" "$root/etc/systemd/system/crontopus-agent.service"
cp "$share/crontopus-agent-user.service" "$root/etc/systemd/system/crontopus-agent-user.service"
verify_units "$root" /etc/systemd/system/crontopus-agent.service /etc/systemd/system/crontopus-agent-user.service
# ...and verify is not a rubber stamp here: without the binary it must complain.
mv "$root$bin" "$root$bin.moved"
if systemd-analyze verify --man=no --root="$root" /etc/systemd/system/crontopus-agent.service >/dev/null 2>&1; then
  echo "FAIL: systemd-analyze verify passed with the binary missing"; exit 1
fi
mv "$root$bin.moved" "$root$bin"

plist="$share/com.crontopus.agent.plist"
xmllint --noout "$plist"
python3 - "$plist" "$bin" <<'PY'
import plistlib, sys
with open(sys.argv[1], "rb") as f:
    p = plistlib.load(f, fmt=plistlib.FMT_XML)
assert isinstance(p, dict), "top level is not a dict"
assert p["Label"] == "com.crontopus.agent", p["Label"]
args = p["ProgramArguments"]
assert args[0] == sys.argv[2] and args[1] == "--config", args
assert p["RunAtLoad"] is True and p["KeepAlive"] is True
for k in ("StandardOutPath", "StandardErrorPath"):
    assert p[k].startswith("/"), k
print("plist:", sys.argv[1], "OK")
PY
echo "install layout: OK"
