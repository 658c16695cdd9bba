// Least privilege at start: the state directory (run specs, state, the clone) is created 0700, and
// one that group or others can write, or that another user owns, is refused before anything is
// touched, with the fix in the message.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "Config.h"
#include "Engine.h"
#include "TestSupport.h"

namespace crontopus::core {
namespace {

using tests::TempDir;

AgentConfig withStateDir(const std::string& dir) {
  AgentConfig c = defaultConfig();
  c.agent.state_dir = dir;
  return c;
}

std::string refusal(const std::string& dir) {
  try {
    lockStateDirectory(withStateDir(dir));
  } catch (const Poco::Exception& e) {
    return e.message();
  }
  return {};
}

TEST(StateDirectory, IsCreatedPrivate) {
  TempDir tmp;
  const std::string dir = tmp / "state";
  EXPECT_EQ(refusal(dir), "");
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(StateDirectory, WritableByOthersIsRefusedWithTheFix) {
  TempDir tmp;
  const std::string dir = tmp / "state";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  for (unsigned mode : {0777u, 0770u, 0703u}) {
    ASSERT_EQ(chmod(dir.c_str(), mode), 0);
    const std::string why = refusal(dir);
    EXPECT_NE(why.find("agent.state_dir"), std::string::npos) << why;
    EXPECT_NE(why.find("chmod go-w '" + dir + "'"), std::string::npos) << why;
  }
  EXPECT_FALSE(std::filesystem::exists(dir + "/agent.lock")) << "touched before refusing";
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);  // readable is fine: run specs are 0600
  EXPECT_EQ(refusal(dir), "");
}

// Needs root to give the directory away; as another user it fails, not passes.
TEST(StateDirectory, OwnedByAnotherUserIsRefusedWithTheFix) {
  ASSERT_EQ(geteuid(), 0u) << "this test gives a directory to another user: run it as root";
  TempDir tmp;
  const std::string dir = tmp / "state";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  const std::string why = refusal(dir);
  EXPECT_NE(why.find("owned by uid 65534"), std::string::npos) << why;
  EXPECT_NE(why.find("chown 0 '" + dir + "'"), std::string::npos) << why;
}

}  // namespace
}  // namespace crontopus::core
