#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "ManifestTestUtil.h"
#include "manifest/ValidateCommand.h"

namespace crontopus::core::test {
namespace {

class ValidateCommandTest : public ManifestTreeTest {
 protected:
  int run(bool json) {
    out_.str("");
    err_.str("");
    return runValidate(root_.string(), json, out_, err_);
  }
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(ValidateCommandTest, CleanTreeExitsZeroWithSummary) {
  write("production/a.yaml", manifest("a"));
  write("staging/b.yaml", manifest("b"));
  EXPECT_EQ(run(false), 0);
  EXPECT_EQ(out_.str(), "2 jobs, 0 errors\n");
}

TEST_F(ValidateCommandTest, PrintsOneLinePerErrorWithPosition) {
  write("production/a.yaml", manifest("a"));
  write("production/bad.yaml", manifest("bad", "  timezone: Mars/Base\n"));
  write("Bad/c.yaml", manifest("c"));
  EXPECT_EQ(run(false), 1);
  std::string expected_prefix = "Bad/c.yaml: directory \"Bad\" is not a valid namespace";
  std::string out = out_.str();
  EXPECT_EQ(out.rfind(expected_prefix, 0), 0u) << out;
  EXPECT_NE(out.find("\nproduction/bad.yaml:9:13: spec.timezone: unknown time zone \"Mars/Base\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\n1 jobs, 2 errors\n"), std::string::npos) << out;
}

TEST_F(ValidateCommandTest, JsonOutputHasTheDocumentedShape) {
  write("ops/a.yaml", manifest("a"));
  write("ops/b.yaml", manifest("b", "  enabled: \"yes\"\n"));
  EXPECT_EQ(run(true), 1);
  Poco::JSON::Parser parser;
  auto root = parser.parse(out_.str()).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(root->getValue<int>("jobs"), 1);
  auto errors = root->getArray("errors");
  ASSERT_EQ(errors->size(), 1u);
  auto e = errors->getObject(0);
  EXPECT_EQ(e->getValue<std::string>("file"), "ops/b.yaml");
  EXPECT_EQ(e->getValue<int>("line"), 9);
  EXPECT_EQ(e->getValue<int>("column"), 12);
  EXPECT_EQ(e->getValue<std::string>("field"), "spec.enabled");
  EXPECT_FALSE(e->getValue<std::string>("message").empty());
}

TEST_F(ValidateCommandTest, JsonEscapesHostileText) {
  write("ops/a.yaml", manifest("a", "  timezone: \"Evil\\\"/\\\\zone\"\n"));
  EXPECT_EQ(run(true), 1);
  Poco::JSON::Parser parser;
  auto root = parser.parse(out_.str()).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(root->getArray("errors")->size(), 1u);
}

TEST_F(ValidateCommandTest, JsonStaysValidUtf8ForHostileFileNames) {
  write("ops/bad-\xff\xfe.yaml", "x: [");
  EXPECT_EQ(run(true), 1);
  Poco::JSON::Parser parser;
  auto root = parser.parse(out_.str()).extract<Poco::JSON::Object::Ptr>();
  auto e = root->getArray("errors")->getObject(0);
  EXPECT_EQ(e->getValue<std::string>("file"), "ops/bad-\xEF\xBF\xBD\xEF\xBF\xBD.yaml");
  // Keys come in the documented order.
  EXPECT_EQ(out_.str().rfind("{\"jobs\":0,\"errors\":[{\"file\":", 0), 0u) << out_.str();
}

TEST_F(ValidateCommandTest, MissingSecretVariableIsOnlyAWarning) {
  write("ops/a.yaml", manifest("a", "  checkin: {secret: \"${CRONTOPUS_VALIDATE_TEST_UNSET}\"}\n"));
  EXPECT_EQ(run(false), 0);
  EXPECT_EQ(out_.str(), "1 jobs, 0 errors\n");
  EXPECT_NE(err_.str().find("warning: ops/a.yaml:9:"), std::string::npos) << err_.str();
}

TEST_F(ValidateCommandTest, SelectorsDoNotFilterJobs) {
  write("ops/a.yaml", manifest("a", "  agent: {selector: {hostname: nowhere}}\n"));
  EXPECT_EQ(run(false), 0);
  EXPECT_EQ(out_.str(), "1 jobs, 0 errors\n");
}

TEST_F(ValidateCommandTest, MissingDirectoryIsAnError) {
  EXPECT_EQ(runValidate((root_ / "nope").string(), false, out_, err_), 1);
  EXPECT_NE(out_.str().find("0 jobs, 1 errors"), std::string::npos);
}

TEST(ExampleManifests, ValidateClean) {
  std::ostringstream out;
  std::ostringstream err;
  int rc = runValidate(CRONTOPUS_EXAMPLES_DIR, false, out, err);
  EXPECT_EQ(rc, 0) << out.str();
  EXPECT_NE(out.str().find(" jobs, 0 errors"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace crontopus::core::test
