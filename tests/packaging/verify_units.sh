# Sourced by the packaging tests. verify_units ROOT UNIT...: systemd-analyze verify --root=ROOT on
# units given by their path inside ROOT, with the host's own unit files copied in so that
# sysinit.target and friends resolve and ExecStart= is checked against ROOT's files. Any output
# (unknown key, missing binary, bad value) is a failure, not only a non-zero exit.
verify_units() {
  local root=$1
  shift
  mkdir -p "$root/lib/systemd"
  if [ ! -d "$root/lib/systemd/system/sysinit.target.wants" ] && [ ! -e "$root/lib/systemd/system/sysinit.target" ]; then
    mkdir -p "$root/lib/systemd/system"
    cp -an /lib/systemd/system/. "$root/lib/systemd/system/"
  fi
  local out
  if ! out=$(systemd-analyze verify --man=no --root="$root" "$@" 2>&1) || [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify $*:"
    echo "$out"
    return 1
  fi
  echo "systemd-analyze verify: $* clean"
}
