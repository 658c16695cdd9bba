#!/usr/bin/python3
"""Fleet simulation driver for bench/fleet/run.sh (see README.md there).

One git smart-HTTP server (git http-backend behind tests/git/git_http_server.py) on 127.0.0.1,
N crontopus-agent daemons in standalone mode polling it every 5 s, one repository of 1,000
manifests. Prints the figures; exits 1 when an agent dies or never applies.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")
REVISION = re.compile(rb'"revision":\s*"([0-9a-f]*)"')


def git(repo, *args):
    subprocess.run(["git", "-C", repo, "-c", "user.name=fleet", "-c", "user.email=fleet@example.com",
                    *args], check=True, capture_output=True)


def head(repo):
    return subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def manifest(i, variant=0):
    return ("apiVersion: v1\nkind: Job\nmetadata:\n  name: job-%05d\n  tenant: fleet\n"
            "spec:\n  schedule: \"%d %d * * *\"\n  command: /bin/true\n  args: [\"--n=%d\", \"--v=%d\"]\n"
            % (i, i % 60, (i // 60) % 24, i, variant))


def manifest_path(repo, i):
    return os.path.join(repo, "ns%d" % (i % 10), "job-%05d.yaml" % i)


def generate(repo, bare, count):
    for i in range(count):
        os.makedirs(os.path.dirname(manifest_path(repo, i)), exist_ok=True)
        with open(manifest_path(repo, i), "w") as f:
            f.write(manifest(i))
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "%d jobs" % count)
    subprocess.run(["git", "clone", "-q", "--bare", repo, bare], check=True)
    git(repo, "remote", "add", "origin", bare)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_times(pid, children=False):
    """CPU seconds of pid (plus its reaped descendants when children)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def memory_kib(pid):
    values = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    return values


def revision_and_mtime(state_dir):
    path = os.path.join(state_dir, "state.json")
    try:
        with open(path, "rb") as f:
            m = REVISION.search(f.read(512))
            mtime = os.fstat(f.fileno()).st_mtime
    except OSError:
        return None, None
    return (m.group(1).decode() if m else None), mtime


def machine_busy():
    """(busy, total) jiffies of the whole machine, every process of every user."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def server_stats(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/_stats" % port, timeout=60) as r:
        return json.loads(r.read())


def dist(values, fmt="%.1f"):
    values = sorted(values)
    return "min %s  median %s  max %s" % (fmt % values[0], fmt % statistics.median(values),
                                          fmt % values[-1])


class Fleet:
    def __init__(self, args):
        self.args = args
        self.work = tempfile.mkdtemp(prefix="crontopus-fleet.", dir=args.work_dir)
        self.repo = os.path.join(self.work, "repo")
        self.srv = os.path.join(self.work, "srv")
        self.bare = os.path.join(self.srv, "fleet.git")
        self.server = None
        self.agents = []  # (Popen, state_dir, log path)

    def start_server(self):
        self.port = free_port()
        ready = os.path.join(self.work, "server.ready")
        self.server = subprocess.Popen(
            [sys.executable, self.args.server, "--port", str(self.port), "--root", self.srv,
             "--ready-file", ready], stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.work, "server.log"), "w"))
        deadline = time.monotonic() + 30
        while not os.path.exists(ready):
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the git HTTP server did not start; see %s/server.log" % self.work)
            time.sleep(0.05)

    def start_agents(self):
        count = self.args.agents
        for i in range(count):
            home = os.path.join(self.work, "agents", "%03d" % i)
            os.makedirs(home)
            config = os.path.join(home, "config.yaml")
            with open(config, "w") as f:
                f.write("agent: {name: fleet-%03d, state_dir: %s/state}\n"
                        "git: {url: \"http://127.0.0.1:%d/fleet.git\", sync_interval: %d}\n"
                        "scheduler: {backend: cron, options: {cron_file: %s/crontopus}}\n"
                        "log: {level: warning}\n"
                        % (i, home, self.port, self.args.interval, home))
            os.chmod(config, 0o600)
            log = os.path.join(home, "agent.log")
            p = subprocess.Popen([self.args.agent, "--config", config], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=open(log, "w"))
            self.agents.append((p, os.path.join(home, "state"), log))
            # Real hosts do not start in the same millisecond: spread the starts over one interval.
            time.sleep(self.args.interval / count)

    def check_alive(self):
        dead = [(i, p.returncode) for i, (p, _, _) in enumerate(self.agents) if p.poll() is not None]
        if dead:
            i, code = dead[0]
            with open(self.agents[i][2]) as f:
                tail = f.read()[-2000:]
            raise SystemExit("%d agents exited (first: #%d, code %s); its log ends:\n%s"
                             % (len(dead), i, code, tail))

    def wait_all_at(self, commits, index, deadline_s):
        """Seconds after commits[index]'s push until each agent recorded it (or a later one)."""
        sha_index = {sha: k for k, (sha, _) in enumerate(commits)}
        pushed = commits[index][1]
        done = {}
        deadline = time.monotonic() + deadline_s
        while len(done) < len(self.agents):
            for i, (_, state, _) in enumerate(self.agents):
                if i in done:
                    continue
                rev, mtime = revision_and_mtime(state)
                if rev in sha_index and sha_index[rev] >= index:
                    done[i] = mtime - pushed  # state.json's mtime: when the agent wrote it
            if len(done) < len(self.agents):
                if time.monotonic() > deadline:
                    return None, len(done)
                self.check_alive()
                time.sleep(0.2)
        return sorted(done.values()), len(done)

    def snapshot(self):
        return {
            "t": time.monotonic(),
            "server": server_stats(self.port),
            "server_cpu": proc_times(self.server.pid, children=True),
            "agents_cpu": [proc_times(p.pid) for p, _, _ in self.agents],
            "machine": machine_busy(),
        }

    def report_window(self, label, a, b):
        span = b["t"] - a["t"]
        s0, s1 = a["server"], b["server"]
        requests = s1["total"] - s0["total"]
        print("%s (%.0f s, %d agents):" % (label, span, len(self.agents)))
        print("  server: %.1f requests/s (%.1f ref advertisements/s, %d fetches), CPU %.1f %% of one core"
              " (Python front end + git http-backend/upload-pack)"
              % (requests / span, (s1["info_refs"] - s0["info_refs"]) / span,
                 s1["upload_pack"] - s0["upload_pack"],
                 100 * (b["server_cpu"] - a["server_cpu"]) / span))
        cpu = [100 * (y - x) / span for x, y in zip(a["agents_cpu"], b["agents_cpu"])]
        print("  agent CPU, %% of one core: %s; all agents together %.1f %%"
              % (dist(cpu, "%.2f"), sum(cpu)))
        mem = [memory_kib(p.pid) for p, _, _ in self.agents]
        print("  agent RSS, MiB: %s" % dist([m["VmRSS"] / 1024 for m in mem]))
        print("  agent peak RSS (VmHWM), MiB: %s" % dist([m["VmHWM"] / 1024 for m in mem]))
        busy = b["machine"][0] - a["machine"][0]
        total = b["machine"][1] - a["machine"][1]
        print("  whole machine (other users' builds included): %.0f %% of %d cores busy, load %s"
              % (100 * busy / total, os.cpu_count(), " ".join(open("/proc/loadavg").read().split()[0:3])))
        sys.stdout.flush()

    def run(self):
        a = self.args
        print("work directory: %s; %d agents every %d s; %d manifests; %d s per phase; %d CPUs"
              % (self.work, a.agents, a.interval, a.manifests, a.seconds, os.cpu_count()))
        generate(self.repo, self.bare, a.manifests)
        commits = [(head(self.repo), time.time())]
        self.start_server()
        started = time.time()
        t0 = server_stats(self.port)
        self.start_agents()
        times, n = self.wait_all_at(commits, 0, 900)
        if times is None:
            raise SystemExit("only %d of %d agents applied the first revision within 15 minutes"
                             % (n, a.agents))
        t1 = server_stats(self.port)
        print("start-up: all %d agents cloned and applied %d jobs within %.1f s of the first start"
              " (%d fetches, %d requests)"
              % (a.agents, a.manifests, max(times) + commits[0][1] - started,
                 t1["upload_pack"] - t0["upload_pack"], t1["total"] - t0["total"]))
        sys.stdout.flush()
        time.sleep(2 * a.interval)  # past the start-up's fetches

        # Phase 1: nothing changes.
        p0 = self.snapshot()
        time.sleep(a.seconds)  # the measurement window
        self.check_alive()
        p1 = self.snapshot()
        self.report_window("phase 1, remote unchanged", p0, p1)

        # Phase 2: a commit every 20 s, on the clock whatever the agents do; each agent's
        # apply time is state.json's mtime when it first shows that commit (or a later one).
        s0 = self.snapshot()
        base = len(commits)
        applied = []  # per commit of this phase: {agent: seconds after the push}
        start = time.monotonic()
        phase_end = start + a.seconds
        next_commit = start
        s1 = None
        k = 0
        while True:
            now = time.monotonic()
            if now >= next_commit and now + 1 < phase_end:
                k += 1
                with open(manifest_path(self.repo, k), "w") as f:
                    f.write(manifest(k, variant=k))
                git(self.repo, "commit", "-q", "-am", "change job %d" % k)
                git(self.repo, "push", "-q", "origin", "main")
                commits.append((head(self.repo), time.time()))
                applied.append({})
                next_commit += a.commit_every
            if s1 is None and now >= phase_end:
                s1 = self.snapshot()
            sha_index = {sha: i for i, (sha, _) in enumerate(commits)}
            for i, (_, state, _) in enumerate(self.agents):
                rev, mtime = revision_and_mtime(state)
                at = sha_index.get(rev, -1)
                for c in range(base, at + 1):
                    if i not in applied[c - base]:
                        applied[c - base][i] = mtime - commits[c][1]
            complete = all(len(d) == len(self.agents) for d in applied)
            if s1 is not None and (complete or now > phase_end + 120):
                break
            self.check_alive()
            time.sleep(0.2)
        self.report_window("phase 2, a commit every %d s" % a.commit_every, s0, s1)
        latencies = []
        for c, d in enumerate(applied):
            times = sorted(d.values())
            if len(times) < len(self.agents):
                print("  commit %d: only %d of %d agents applied it within 120 s of the phase's end"
                      % (c + 1, len(times), a.agents))
                continue
            latencies.append(times[-1])
            print("  commit %d: applied by every agent after %.2f s (first %.2f s, median %.2f s,"
                  " 90th percentile %.2f s)"
                  % (c + 1, times[-1], times[0], statistics.median(times),
                     times[int(0.9 * (len(times) - 1))]))
        if latencies:
            print("  commit -> all %d agents applied: %s s over %d commits"
                  % (a.agents, dist(latencies, "%.2f"), len(latencies)))
        base_rate = (sum(p1["agents_cpu"]) - sum(p0["agents_cpu"])) / (p1["t"] - p0["t"])
        extra = sum(s1["agents_cpu"]) - sum(s0["agents_cpu"]) - base_rate * (s1["t"] - s0["t"])
        if applied:
            print("  CPU of one changed cycle (fetch, new tree, parse, render, write), beyond the"
                  " polls: %.0f ms per agent" % (1000 * extra / (a.agents * len(applied))))
        errors = 0
        for _, state, _ in self.agents:
            try:
                with open(os.path.join(state, "last-cycle.json")) as f:
                    errors += json.load(f).get("result") != "ok"
            except (OSError, ValueError):
                errors += 1
        print("agents whose last cycle was not ok: %d" % errors)
        return 0 if errors == 0 and len(latencies) == len(applied) else 1

    def stop(self):
        started = time.monotonic()
        for p, _, _ in self.agents:
            if p.poll() is None:
                p.terminate()
        codes = []
        for p, _, _ in self.agents:
            try:
                codes.append(p.wait(timeout=30))
            except subprocess.TimeoutExpired:
                p.kill()
                codes.append(p.wait())
        if self.agents:
            print("SIGTERM to all agents: %d exited 0 within %.1f s"
                  % (codes.count(0), time.monotonic() - started))
        if self.server:
            self.server.terminate()
            self.server.wait()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--agent", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--manifests", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--commit-every", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    # 200 agents keep ~600,000 files (mirrors, trees, run specs): on tmpfs the shared disk of
    # one machine does not stand in for 200 hosts' own disks, and cleaning up takes seconds.
    parser.add_argument("--work-dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None)
    args = parser.parse_args()
    fleet = Fleet(args)
    try:
        return fleet.run()
    except BaseException:
        traceback.print_exc()  # now, not after the clean-up
        sys.stderr.flush()
        return 1
    finally:
        fleet.stop()


if __name__ == "__main__":
    sys.exit(main())
