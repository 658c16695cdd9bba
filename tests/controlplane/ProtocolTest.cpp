#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "RunSpec.h"
#include "TestSupport.h"
#include "controlplane/HttpClient.h"
#include "controlplane/Protocol.h"
#include "controlplane/Spool.h"
#include "controlplane/TokenFile.h"

namespace crontopus::core::controlplane {
namespace {

using tests::TempDir;

Poco::JSON::Object::Ptr parse(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

TEST(Protocol, MachineIdIsTheSha256OfTheTrimmedLowerCasedId) {
  EXPECT_EQ(machineIdHash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(machineIdHash(" ABC \n"), machineIdHash("abc"));
  EXPECT_EQ(machineIdHash("  \n"), "");
}

TEST(Protocol, GitUrlLosesEveryCredential) {
  EXPECT_EQ(stripCredentials("https://user:ghp_secret@github.com/acme/jobs.git"),
            "https://github.com/acme/jobs.git");
  EXPECT_EQ(stripCredentials("https://ghp_secret@github.com/acme/jobs.git"),
            "https://github.com/acme/jobs.git");
  EXPECT_EQ(stripCredentials("https://github.com/acme/jobs.git?access_token=x#frag"),
            "https://github.com/acme/jobs.git");
  EXPECT_EQ(stripCredentials("ssh://git:pw@host/acme/jobs.git"), "ssh://git@host/acme/jobs.git");
  EXPECT_EQ(stripCredentials("ssh://git@host/acme/jobs.git"), "ssh://git@host/acme/jobs.git");
  EXPECT_EQ(stripCredentials("git@github.com:acme/jobs.git"), "git@github.com:acme/jobs.git");
}

TEST(Protocol, EnrollmentBodyHasTheSpecifiedFields) {
  AgentConfig config = defaultConfig();
  config.agent.name = "web-01";
  config.agent.hostname = "web-01.example";
  config.agent.platform = "linux";
  config.git.url = "https://tok@git.example/jobs.git";
  config.git.branch = "prod";
  auto o = parse(enrollmentBody(config, "ABC"));
  EXPECT_EQ(o->getValue<std::string>("name"), "web-01");
  EXPECT_EQ(o->getValue<std::string>("hostname"), "web-01.example");
  EXPECT_EQ(o->getValue<std::string>("machine_id"), machineIdHash("abc"));
  EXPECT_EQ(o->getValue<std::string>("platform"), "linux");
  EXPECT_EQ(o->getValue<std::string>("version"), CRONTOPUS_VERSION);
  EXPECT_EQ(o->getValue<std::string>("git_repo_url"), "https://git.example/jobs.git");
  EXPECT_EQ(o->getValue<std::string>("git_branch"), "prod");
  EXPECT_FALSE(parse(enrollmentBody(config, ""))->has("machine_id"));
}

TEST(Protocol, JobInstancesAreCompleteAndUseOnlyAllowedValues) {
  std::map<std::string, JobState> jobs;
  jobs["prod/a"].status = "scheduled";
  jobs["prod/a"].command = "/bin/a 'x y'";
  jobs["prod/b"].status = "paused";
  jobs["dev/c"].status = "weird";
  auto o = parse(jobInstancesBody(jobs));
  auto list = o->getArray("instances");
  ASSERT_EQ(list->size(), 3u);
  auto first = list->getObject(0);
  EXPECT_EQ(first->getValue<std::string>("namespace"), "dev");
  EXPECT_EQ(first->getValue<std::string>("job_name"), "c");
  EXPECT_EQ(first->getValue<std::string>("status"), "error");
  EXPECT_EQ(first->getValue<std::string>("source"), "crontopus");
  EXPECT_EQ(list->getObject(1)->getValue<std::string>("original_command"), "/bin/a 'x y'");
  EXPECT_EQ(list->getObject(2)->getValue<std::string>("status"), "paused");
  EXPECT_EQ(parse(jobInstancesBody({}))->getArray("instances")->size(), 0u);
}

TEST(Protocol, CheckInBodyUsesIntegersAndSignalExitCodes) {
  RunRecord r;
  r.ns = "prod";
  r.name = "backup";
  r.status = "cancelled";
  r.exit_code = -1;
  r.signal = 9;
  r.duration_seconds = 3;
  r.output = "out";
  r.error_message = "killed by signal 9";
  const std::string text = checkInBody(42, r);
  EXPECT_NE(text.find("\"duration\":3"), std::string::npos) << text;
  auto o = parse(text);
  EXPECT_EQ(o->getValue<int>("endpoint_id"), 42);
  EXPECT_EQ(o->getValue<int>("exit_code"), 137);
  EXPECT_EQ(o->getValue<std::string>("status"), "cancelled");
  EXPECT_EQ(o->getValue<std::string>("error_message"), "killed by signal 9");
  r.status = "success";
  r.signal = 0;
  r.exit_code = 0;
  EXPECT_FALSE(parse(checkInBody(1, r))->has("error_message"));
  EXPECT_EQ(parse(withEndpointId(checkInBody(0, r), 7))->getValue<int>("endpoint_id"), 7);
}

TEST(TokenFile, RoundTripWithMode0600) {
  TempDir dir;
  const std::string path = dir / "sub/agent-token";
  writeTokenFile(path, {42, "tok-1"});
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto o = parse(tests::readFile(path));
  EXPECT_EQ(o->getValue<int>("agent_id"), 42);
  EXPECT_EQ(o->getValue<std::string>("token"), "tok-1");
  auto t = readTokenFile(path);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->endpoint_id, 42);
  EXPECT_EQ(t->token, "tok-1");
  EXPECT_FALSE(readTokenFile(dir / "missing"));
}

TEST(TokenFile, RefusesAFileOthersCanRead) {
  TempDir dir;
  const std::string path = dir / "agent-token";
  tests::writeFile(path, R"({"agent_id": 1, "token": "very-secret"})", 0644);
  try {
    readTokenFile(path);
    FAIL() << "accepted a world-readable token file";
  } catch (const TokenFileException& e) {
    EXPECT_NE(e.message().find("chmod 600"), std::string::npos) << e.message();
    EXPECT_EQ(e.message().find("very-secret"), std::string::npos);
  }
}

// Least privilege: a token file another user owns could be replaced by that user (mode 0600 does
// not stop its owner). Needs root to give the file away; as another user it fails, not passes.
TEST(TokenFile, RefusesAFileAnotherUserOwns) {
  ASSERT_EQ(geteuid(), 0u) << "this test gives a file to another user: run it as root";
  TempDir dir;
  const std::string path = dir / "agent-token";
  writeTokenFile(path, {1, "very-secret"});
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  try {
    readTokenFile(path);
    FAIL() << "accepted a token file owned by uid 65534";
  } catch (const TokenFileException& e) {
    EXPECT_NE(e.message().find("owned by uid 65534"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("chown 0 " + path), std::string::npos) << e.message();
    EXPECT_EQ(e.message().find("very-secret"), std::string::npos);
  }
}

TEST(TokenFile, CorruptFileIsAClearErrorWithoutTheToken) {
  TempDir dir;
  const std::string path = dir / "agent-token";
  for (const std::string text :
       {R"({"agent_id": 1, "token": "very-secret")", R"({"agent_id": "1", "token": "very-secret"})",
        R"({"token": "very-secret"})", "", "[]"}) {
    tests::writeFile(path, text, 0600);
    chmod(path.c_str(), 0600);
    try {
      readTokenFile(path);
      FAIL() << "accepted " << text;
    } catch (const TokenFileException& e) {
      EXPECT_NE(e.message().find("is not valid"), std::string::npos) << e.message();
      EXPECT_NE(e.message().find("delete it"), std::string::npos) << e.message();
      EXPECT_EQ(e.message().find("very-secret"), std::string::npos) << e.message();
    }
  }
}

TEST(TokenFile, EnrollmentAnswerPrefersANonZeroEndpointId) {
  EXPECT_EQ(parseEnrollmentResponse(R"({"agent_id": 5, "token": "t"})").endpoint_id, 5);
  EXPECT_EQ(parseEnrollmentResponse(R"({"endpoint_id": 6, "token": "t"})").endpoint_id, 6);
  EXPECT_EQ(
      parseEnrollmentResponse(R"({"agent_id": 5, "endpoint_id": 6, "token": "t"})").endpoint_id, 6);
  EXPECT_EQ(
      parseEnrollmentResponse(R"({"agent_id": 5, "endpoint_id": 0, "token": "t"})").endpoint_id, 5);
  EXPECT_THROW(parseEnrollmentResponse(R"({"agent_id": 5})"), ControlPlaneException);
  EXPECT_THROW(parseEnrollmentResponse("<html>"), ControlPlaneException);
}

TEST(HttpClient, PlainHttpOnlyToLoopbackUnlessAllowed) {
  EXPECT_EQ(checkApiUrl("http://127.0.0.1:8000", false), "");
  EXPECT_EQ(checkApiUrl("http://localhost:8000/prefix", false), "");
  EXPECT_EQ(checkApiUrl("http://[::1]:8000", false), "");
  EXPECT_NE(checkApiUrl("http://cp.example.com", false), "");
  EXPECT_EQ(checkApiUrl("http://cp.example.com", true), "");
  EXPECT_EQ(checkApiUrl("https://cp.example.com", false), "");
  EXPECT_NE(checkApiUrl("https://u:p@cp.example.com", false), "");
  EXPECT_NE(checkApiUrl("ftp://cp.example.com", false), "");
  EXPECT_NE(checkApiUrl("cp.example.com", false), "");
  EXPECT_THROW(HttpClient(HttpSettings{"http://10.0.0.1", "", false, "linux"}),
               ControlPlaneException);
}

TEST(HttpClient, RetryAfterSecondsAndDates) {
  EXPECT_EQ(parseRetryAfter("7"), std::chrono::seconds(7));
  EXPECT_EQ(parseRetryAfter(" 0 "), std::chrono::seconds(0));
  EXPECT_EQ(parseRetryAfter("soon").count(), -1);
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT").count(), 0);  // in the past
  EXPECT_EQ(userAgent("linux"), std::string("crontopus-agent/") + CRONTOPUS_VERSION + " (linux)");
}

TEST(Spool, FilesAreOrderedPrivateAndAtomic) {
  TempDir dir;
  Spool spool(dir / "spool");
  EXPECT_FALSE(spool.hasPending());
  std::vector<std::string> paths;
  for (int i = 0; i < 20; ++i)
    paths.push_back(spool.add("{\"n\": " + std::to_string(i) + "}"));
  tests::writeFile(dir / "spool/.20000101T000000.000000Z-x.json.tmp1", "partial", 0600);
  const auto names = spool.pending();
  ASSERT_EQ(names.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(spool.read(names[static_cast<std::size_t>(i)]), "{\"n\": " + std::to_string(i) + "}");
    struct stat st {};
    ASSERT_EQ(stat(paths[static_cast<std::size_t>(i)].c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_TRUE(spool.remove(names[0]));
  EXPECT_FALSE(spool.remove(names[0]));
  EXPECT_EQ(spool.pending().size(), 19u);
}

TEST(RunSpec, CarriesTheControlPlaneLocationButNoToken) {
  RunSpec s;
  s.ns = "n";
  s.name = "j";
  s.command = "true";
  s.control_plane.api_url = "https://cp.example";
  s.control_plane.token_path = "/var/lib/crontopus/agent-token";
  s.control_plane.spool_dir = "/var/lib/crontopus/spool";
  const RunSpec back = runSpecFromJson(toJson(s), "test");
  EXPECT_EQ(back.control_plane.api_url, "https://cp.example");
  EXPECT_EQ(back.control_plane.token_path, "/var/lib/crontopus/agent-token");
  EXPECT_EQ(back.control_plane.spool_dir, "/var/lib/crontopus/spool");
}

// A run spec without "args" (or with a mistyped "env", "retry", "checkin") used to be refused as
// "not a valid run spec (Null pointer)": Poco answers a missing array or object with a null
// pointer whose dereference throws. The error now names the file and the missing section.
TEST(RunSpec, MissingOrMistypedSectionsAreNamed) {
  const std::string head =
      R"({"version":1,"namespace":"n","name":"j","command":"true","working_dir":"",)"
      R"("schedule":"* * * * *","timezone":"","gate":false,"timeout_seconds":1,)";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"version":1,"namespace":"n","name":"j","command":"true"})", "args"},
      {head + R"("args":{},"env":{},"retry":{"enabled":true,"attempts":1,"backoff":"fixed"},)" +
           R"("checkin":{"enabled":false,"secret":""}})",
       "args"},
      {head + R"("args":[],"env":[],"retry":{"enabled":true,"attempts":1,"backoff":"fixed"},)" +
           R"("checkin":{"enabled":false,"secret":""}})",
       "env"},
      {head + R"("args":[],"env":{},"retry":3,"checkin":{"enabled":false,"secret":""}})", "retry"},
      {head + R"("args":[],"env":{},"retry":{"enabled":true,"attempts":1,"backoff":"fixed"}})",
       "checkin"}};
  for (const auto& [text, key] : cases) {
    try {
      runSpecFromJson(text, "/state/jobs/n/j.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Poco::DataFormatException& e) {
      EXPECT_NE(e.message().find("/state/jobs/n/j.json"), std::string::npos) << e.message();
      EXPECT_NE(e.message().find(key + " is missing or of the wrong type"), std::string::npos)
          << e.message();
    }
  }
}

// Found by fuzz_controlplane: an error answer's text went into log lines as the server wrote it,
// so a newline in it forged a log line. Control characters become spaces, in every form.
TEST(HttpResponse, DetailIsOneLogLine) {
  HttpResponse r;
  r.status = 422;
  r.body = R"({"detail": "bad\nERROR forged line\u001b[2J"})";
  EXPECT_EQ(r.detail(), "bad ERROR forged line [2J");
  r.body = R"({"detail": [{"loc": ["body", "na\rme"], "msg": "x\ny"}]})";
  EXPECT_EQ(r.detail(), "body.na me: x y");
  // A "loc" that is not a list used to throw Poco's "Null pointer" and fall back to the raw body.
  r.body = R"({"detail": [{"loc": "not a list", "msg": "m"}]})";
  EXPECT_EQ(r.detail(), ": m");
  r.body = std::string("plain\x1e\0text", 11);
  EXPECT_EQ(r.detail(), std::string("plain  text"));
  r.body = std::string(5000, 'x');
  EXPECT_EQ(r.detail().size(), 200u);
  EXPECT_EQ(r.describe().find('\n'), std::string::npos);
}

}  // namespace
}  // namespace crontopus::core::controlplane
