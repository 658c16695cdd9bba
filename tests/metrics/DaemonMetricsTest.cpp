#include <signal.h>

#include <chrono>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include "AgentDaemon.h"
#include "PromText.h"
#include "TestSupport.h"

namespace crontopus::tests {
namespace {

using namespace std::chrono_literals;

// The daemon under test: crontopus-agent --config FILE, in the foreground.
class Daemon : public AgentDaemon {
 public:
  Daemon(std::string config, std::string log)
      : AgentDaemon(AGENT_BIN, std::move(config), std::move(log)) {}
};

struct Reply {
  int status = -1;  // -1: no answer
  std::string body;
};

Reply get(int port, const std::string& path) {
  Reply reply;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, path,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Poco::StreamCopier::copyToString(in, reply.body);
    reply.status = response.getStatus();
  } catch (const Poco::Exception&) {
    reply.status = -1;  // not listening (yet, or any more)
  }
  return reply;
}

int freePort() {
  Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
  const int port = socket.address().port();
  socket.close();
  return port;
}

std::string manifest(const std::string& name, bool paused) {
  return "apiVersion: v1\nkind: Job\nmetadata:\n  name: " + name +
         "\n  tenant: t\nspec:\n  schedule: \"0 3 * * *\"\n  command: /bin/echo\n  args: [\"" +
         name + "\"]\n  paused: " + (paused ? "true" : "false") + "\n";
}

// A repository with two scheduled jobs and a paused one; returns its HEAD.
std::string makeRepo(const std::string& repo) {
  std::filesystem::create_directories(repo + "/prod");
  git(repo, {"init", "-q", "-b", "main"});
  writeFile(repo + "/prod/a.yaml", manifest("a", false));
  writeFile(repo + "/prod/b.yaml", manifest("b", false));
  writeFile(repo + "/prod/c.yaml", manifest("c", true));
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-q", "-m", "three jobs"});
  return runProcess({"/usr/bin/git", "-C", repo, "rev-parse", "HEAD"}).out.substr(0, 40);
}

std::string config(const TempDir& dir, const std::string& repo, int port, int interval,
                   const std::string& level = "information") {
  std::ostringstream c;
  c << "agent:\n  name: metrics-agent\n  state_dir: " << dir / "state"
    << "\n"
    << "git:\n  url: file://" << repo << "\n  sync_interval: " << interval << "\n"
    << "scheduler:\n  backend: cron\n  options:\n    cron_file: " << dir / "crontopus"
    << "\n"
    << "log:\n  level: " << level << "\n"
    << "metrics:\n  listen: 127.0.0.1:" << port << "\n";
  return c.str();
}

double value(const std::map<std::string, double>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? -1 : it->second;
}

TEST(DaemonMetrics, ScrapesAreStrictPrometheusTextAndHealthFollowsTheRepository) {
  TempDir dir;
  const std::string repo = dir / "repo";
  const std::string head = makeRepo(repo);
  const int port = freePort();
  writeFile(dir / "config.yaml", config(dir, repo, port, 1), 0600);
  Daemon daemon(dir / "config.yaml", dir / "agent.log");

  ASSERT_TRUE(waitFor([&] { return get(port, "/healthz").status == 200; }, 30s)) << daemon.log();
  EXPECT_EQ(get(port, "/healthz").body.substr(0, 3), "ok:");

  std::map<std::string, double> m;
  ASSERT_TRUE(waitFor(
      [&] {
        m = parsePromText(get(port, "/metrics").body);
        return value(m, "crontopus_cycle_duration_seconds_count") >= 2;
      },
      30s))
      << daemon.log();
  EXPECT_EQ(value(m, "crontopus_last_sync_success"), 1);
  const double now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  EXPECT_LE(value(m, "crontopus_last_sync_timestamp_seconds"), now);
  EXPECT_GE(value(m, "crontopus_last_sync_timestamp_seconds"), now - 30);
  EXPECT_EQ(value(m, "crontopus_revision_info{revision=\"" + head + "\"}"), 1);
  EXPECT_EQ(value(m, "crontopus_jobs{status=\"scheduled\"}"), 2);
  EXPECT_EQ(value(m, "crontopus_jobs{status=\"paused\"}"), 1);
  EXPECT_EQ(value(m, "crontopus_jobs{status=\"error\"}"), 0);
  EXPECT_EQ(value(m, "crontopus_plan_changes_total{kind=\"add\"}"), 3);
  EXPECT_EQ(value(m, "crontopus_drift_corrections_total"), 0);
  EXPECT_EQ(value(m, "crontopus_spool_depth"), 0);
  EXPECT_EQ(value(m, "crontopus_cycle_duration_seconds_bucket{le=\"+Inf\"}"),
            value(m, "crontopus_cycle_duration_seconds_count"));

  // Someone deletes the agent's entry: the next cycle restores it and counts a drift correction.
  writeFile(dir / "crontopus", "");
  ASSERT_TRUE(waitFor(
      [&] {
        m = parsePromText(get(port, "/metrics").body);
        return value(m, "crontopus_drift_corrections_total") >= 2;
      },
      30s))
      << daemon.log();
  EXPECT_EQ(value(m, "crontopus_plan_changes_total{kind=\"drift\"}"),
            value(m, "crontopus_drift_corrections_total"));

  // The repository goes away: after three 1-second intervals without a good cycle, 503.
  std::filesystem::rename(repo, dir / "gone");
  Reply health;
  ASSERT_TRUE(waitFor(
      [&] {
        health = get(port, "/healthz");
        return health.status == 503;
      },
      30s))
      << daemon.log();
  EXPECT_NE(health.body.find("last successful cycle"), std::string::npos) << health.body;
  EXPECT_NE(health.body.find("limit 3 s"), std::string::npos) << health.body;
  EXPECT_EQ(health.body.find('\n'), health.body.size() - 1) << "one line: " << health.body;
  m = parsePromText(get(port, "/metrics").body);
  EXPECT_EQ(value(m, "crontopus_last_sync_success"), 0);
  double git_errors = 0;
  for (const auto& [k, v] : m) {
    if (k.rfind("crontopus_git_errors_total{", 0) == 0)
      git_errors += v;
  }
  EXPECT_GE(git_errors, 1);
  EXPECT_EQ(value(m, "crontopus_revision_info{revision=\"" + head + "\"}"), 1);
  EXPECT_EQ(get(port, "/nope").status, 404);

  // Back: healthy again.
  std::filesystem::rename(dir / "gone", repo);
  daemon.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] { return get(port, "/healthz").status == 200; }, 60s)) << daemon.log();

  EXPECT_EQ(daemon.terminate(), 0);
  EXPECT_EQ(get(port, "/metrics").status, -1) << "still listening after SIGTERM";
}

TEST(DaemonMetrics, ANonLoopbackListenAddressIsRefusedBeforeAnythingStarts) {
  TempDir dir;
  const std::string repo = dir / "repo";
  makeRepo(repo);
  std::string text = config(dir, repo, 9, 1);
  text.replace(text.find("127.0.0.1:9"), 11, "0.0.0.0:9");
  writeFile(dir / "config.yaml", text, 0600);
  const auto r = runProcess({AGENT_BIN, "--config", dir / "config.yaml"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.err.find(dir / "config.yaml" + ":14:11: metrics.listen: \"0.0.0.0\" is not a loopback"),
      std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir / "crontopus"));
}

TEST(DaemonReload, SigusrOneAppliesAGoodConfigAndKeepsTheOldOneOnABadOne) {
  TempDir dir;
  const std::string repo = dir / "repo";
  makeRepo(repo);
  const int port = freePort();
  writeFile(dir / "config.yaml", config(dir, repo, port, 3600), 0600);
  Daemon daemon(dir / "config.yaml", dir / "agent.log");
  auto cycles = [&] {
    const Reply r = get(port, "/metrics");
    if (r.status != 200)
      return -1.0;
    return value(parsePromText(r.body), "crontopus_cycle_duration_seconds_count");
  };
  ASSERT_TRUE(waitFor([&] { return cycles() == 1; }, 30s)) << daemon.log();
  EXPECT_EQ(daemon.log().find("next cycle in"), std::string::npos);  // a debug line

  // A broken file: rejected with its position; the daemon keeps running on the old one.
  std::string broken = config(dir, repo, port, 1, "debug");
  broken.replace(broken.find("sync_interval: 1"), 16, "sync_interval: soon");
  writeFile(dir / "config.yaml", broken, 0600);
  daemon.signal(SIGUSR1);
  ASSERT_TRUE(waitFor(
      [&] {
        return daemon.log().find("the new configuration is invalid; keeping the old one") !=
               std::string::npos;
      },
      30s))
      << daemon.log();
  EXPECT_NE(daemon.log().find(dir / "config.yaml:6:18: git.sync_interval: must be a whole number"),
            std::string::npos)
      << daemon.log();
  EXPECT_TRUE(daemon.running());
  daemon.signal(SIGHUP);  // still working, on the old configuration
  ASSERT_TRUE(waitFor([&] { return cycles() == 2; }, 30s)) << daemon.log();
  EXPECT_EQ(get(port, "/healthz").status, 200);
  EXPECT_EQ(daemon.log().find("next cycle in"), std::string::npos);

  // A good one: a 1-second interval and debug logging, from the next cycle on.
  writeFile(dir / "config.yaml", config(dir, repo, port, 1, "debug"), 0600);
  daemon.signal(SIGUSR1);
  ASSERT_TRUE(waitFor([&] { return cycles() >= 5; }, 30s)) << daemon.log();
  EXPECT_NE(daemon.log().find("SIGUSR1: configuration reloaded: backend cron, every 1 s"),
            std::string::npos)
      << daemon.log();
  EXPECT_NE(daemon.log().find("next cycle in"), std::string::npos) << daemon.log();
  EXPECT_EQ(daemon.terminate(), 0);
}

}  // namespace
}  // namespace crontopus::tests
