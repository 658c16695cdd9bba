#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "ManifestTestUtil.h"
#include "manifest/ManifestParser.h"
#include "manifest/YamlTree.h"

namespace crontopus::core::test {
namespace {

class ManifestLimitsTest : public ManifestTreeTest {};

TEST_F(ManifestLimitsTest, RefusesFilesOverOneMebibyte) {
  std::string big = manifest("big") + "# " + std::string(ManifestParser::kMaxFileBytes, 'x') + "\n";
  write("ops/big.yaml", big);
  write("ops/small.yaml", manifest("small"));
  ManifestSet set = parse();
  const ManifestDiagnostic* e = errorFor(set, "ops/big.yaml");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("1 MiB"), std::string::npos);
  EXPECT_EQ(set.jobs.size(), 1u);
  EXPECT_EQ(set.failed_files.count("ops/big.yaml"), 1u);
}

TEST_F(ManifestLimitsTest, AcceptsAFileJustUnderTheLimit) {
  std::string text = manifest("padded");
  text += "# " + std::string(ManifestParser::kMaxFileBytes - text.size() - 3, 'x') + "\n";
  ASSERT_EQ(text.size(), ManifestParser::kMaxFileBytes);
  write("padded.yaml", text);
  ManifestSet set = parse();
  EXPECT_TRUE(set.errors.empty()) << dump(set);
}

TEST_F(ManifestLimitsTest, RefusesMoreThanOneDocument) {
  write("ops/two.yaml", manifest("one") + "---\n" + manifest("two"));
  ManifestSet set = parse();
  ASSERT_EQ(set.errors.size(), 1u) << dump(set);
  EXPECT_NE(set.errors[0].message.find("more than one YAML document"), std::string::npos);
  EXPECT_EQ(set.errors[0].line, 9);  // where the second document starts
  EXPECT_TRUE(set.jobs.empty());
}

TEST_F(ManifestLimitsTest, AcceptsLeadingSeparatorAndEndMarker) {
  write("ops/one.yaml", "---\n" + manifest("one") + "...\n");
  ManifestSet set = parse();
  EXPECT_TRUE(set.errors.empty()) << dump(set);
}

TEST_F(ManifestLimitsTest, RefusesDuplicateKeys) {
  write("ops/top.yaml", manifest("top") + "kind: Job\n");
  write("ops/nested.yaml", manifest("nested", "  env:\n    A: 1\n    A: 2\n"));
  ManifestSet set = parse();
  const ManifestDiagnostic* top = errorFor(set, "ops/top.yaml");
  ASSERT_NE(top, nullptr);
  EXPECT_NE(top->message.find("duplicate key \"kind\""), std::string::npos) << top->message;
  EXPECT_EQ(top->line, 9);
  const ManifestDiagnostic* nested = errorFor(set, "ops/nested.yaml");
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->line, 11);
  EXPECT_TRUE(set.jobs.empty());
}

TEST_F(ManifestLimitsTest, BillionLaughsIsRefusedQuickly) {
  std::string bomb = manifest("lol") + "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    bomb += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j)
      bomb += (j ? ", " : "") + prev;
    bomb += "]\n";
  }
  write("ops/bomb.yaml", bomb);
  write("ops/fine.yaml", manifest("fine"));
  auto start = std::chrono::steady_clock::now();
  ManifestSet set = parse();
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(1));
  const ManifestDiagnostic* e = errorFor(set, "ops/bomb.yaml");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("alias"), std::string::npos) << e->message;
  EXPECT_GT(e->line, 9);
  EXPECT_EQ(set.jobs.size(), 1u);
}

TEST_F(ManifestLimitsTest, ModestAliasUseIsAccepted) {
  write("ops/a.yaml", manifest("a", "  env: &shared {A: x, B: y}\n", "  labels: &l {env: prod}\n") +
                          "extra:\n  copy: *l\n  env: *shared\n");
  ManifestSet set = parse();
  EXPECT_TRUE(set.errors.empty()) << dump(set);
  EXPECT_EQ(set.jobs.at("ops/a").env.size(), 2u);
}

TEST_F(ManifestLimitsTest, RefusesNestingDeeperThanTheBound) {
  std::string deep = manifest("deep") + "x: ";
  for (int i = 0; i < YamlTree::kMaxDepth; ++i)
    deep += "[";
  for (int i = 0; i < YamlTree::kMaxDepth; ++i)
    deep += "]";
  write("ops/deep.yaml", deep + "\n");

  std::string ok = manifest("ok") + "x: ";
  for (int i = 0; i < YamlTree::kMaxDepth - 2; ++i)
    ok += "[";
  for (int i = 0; i < YamlTree::kMaxDepth - 2; ++i)
    ok += "]";
  write("ops/ok.yaml", ok + "\n");
  ManifestSet set = parse();
  const ManifestDiagnostic* e = errorFor(set, "ops/deep.yaml");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("nesting"), std::string::npos);
  EXPECT_EQ(e->line, 9);
  EXPECT_EQ(set.jobs.count("ops/ok"), 1u) << dump(set);
}

TEST_F(ManifestLimitsTest, DepthThroughAliasesCounts) {
  std::string text = manifest("alias-depth") + "a: &d ";
  for (int i = 0; i < 20; ++i)
    text += "[";
  for (int i = 0; i < 20; ++i)
    text += "]";
  text += "\nb: ";
  for (int i = 0; i < 20; ++i)
    text += "[";
  text += "*d";
  for (int i = 0; i < 20; ++i)
    text += "]";
  write("alias-depth.yaml", text + "\n");
  ManifestSet set = parse();
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_NE(set.errors[0].message.find("nesting"), std::string::npos);
}

TEST_F(ManifestLimitsTest, HugeFlowNestingDoesNotCrash) {
  write("a.yaml", std::string(200000, '[') + std::string(200000, ']'));
  write("b.yaml", std::string(200000, '{'));
  write("c.yaml", "a: " + std::string(100000, '-') + "\n");
  std::string indent;
  std::string stairs;
  for (int i = 0; i < 2000; ++i) {
    stairs += indent + "k:\n";
    indent += " ";
  }
  write("d.yaml", stairs);
  ManifestSet set = parse();
  EXPECT_NE(errorFor(set, "a.yaml"), nullptr);
  EXPECT_NE(errorFor(set, "b.yaml"), nullptr);
  EXPECT_NE(errorFor(set, "c.yaml"), nullptr);
  EXPECT_NE(errorFor(set, "d.yaml"), nullptr);
}

TEST_F(ManifestLimitsTest, TooManyNodesWithoutAliasesIsRefused) {
  std::string text = manifest("many") + "x: [";
  for (std::uint32_t i = 0; i < YamlTree::kMaxNodes; ++i)
    text += "1,";
  write("many.yaml", text + "1]\n");
  ManifestSet set = parse();
  ASSERT_EQ(set.errors.size(), 1u);
  EXPECT_NE(set.errors[0].message.find("nodes"), std::string::npos);
}

TEST_F(ManifestLimitsTest, RecursiveAliasDoesNotHang) {
  write("a.yaml", manifest("a") + "x: &r [1, *r]\n");
  write("b.yaml", manifest("b") + "x: *undefined\n");
  ManifestSet set = parse();
  EXPECT_NE(errorFor(set, "a.yaml"), nullptr);
  EXPECT_NE(errorFor(set, "b.yaml"), nullptr);
}

TEST_F(ManifestLimitsTest, EmptyAndCommentOnlyFilesAreErrors) {
  write("empty.yaml", "");
  write("comments.yaml", "# nothing here\n");
  write("null.yaml", "~\n");
  ManifestSet set = parse();
  EXPECT_EQ(set.errors.size(), 3u) << dump(set);
  EXPECT_EQ(set.failed_files.size(), 3u);
}

TEST_F(ManifestLimitsTest, NonStringKeysAreErrors) {
  write("a.yaml", manifest("a", "  ? [x]\n  : y\n"));
  ManifestSet set = parse();
  ASSERT_EQ(set.errors.size(), 1u) << dump(set);
  EXPECT_EQ(set.errors[0].field, "spec");
}

TEST_F(ManifestLimitsTest, BinaryGarbageIsAnErrorNotACrash) {
  std::string garbage;
  for (int i = 0; i < 4096; ++i)
    garbage += static_cast<char>((i * 131 + 7) % 256);
  write("garbage.yaml", garbage);
  write("nul.yaml", std::string("apiVersion: v1\0kind: Job\n", 25));
  ManifestSet set = parse();
  EXPECT_NE(errorFor(set, "garbage.yaml"), nullptr);
  EXPECT_NE(errorFor(set, "nul.yaml"), nullptr);
}

}  // namespace
}  // namespace crontopus::core::test
