#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "manifest/ManifestParser.h"

namespace crontopus::core::test {

// A fresh temporary directory per test, removed afterwards even when the test fails.
class ManifestTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "crontopus-manifest-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  void write(const std::string& relative, const std::string& text) {
    std::filesystem::path p = root_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary);
    out << text;
  }

  ManifestSet parse(ManifestParseOptions options = {}) const {
    return ManifestParser(std::move(options)).parseTree(root_);
  }

  std::filesystem::path root_;
};

// A complete valid manifest; `extra_spec` lines are appended to spec (2-space indented already).
inline std::string manifest(const std::string& name, const std::string& extra_spec = "",
                            const std::string& extra_metadata = "") {
  return "apiVersion: v1\n"
         "kind: Job\n"
         "metadata:\n"
         "  name: " +
         name +
         "\n"
         "  tenant: acme\n" +
         extra_metadata +
         "spec:\n"
         "  schedule: \"0 2 * * *\"\n"
         "  command: /bin/true\n" +
         extra_spec;
}

// Finds the first error for `file`, or nullptr.
inline const ManifestDiagnostic* errorFor(const ManifestSet& set, const std::string& file) {
  for (const auto& e : set.errors) {
    if (e.file == file)
      return &e;
  }
  return nullptr;
}

inline std::string dump(const ManifestSet& set) {
  std::string out;
  for (const auto& e : set.errors) {
    out += e.file + ":" + std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.field +
           ": " + e.message + "\n";
  }
  return out;
}

}  // namespace crontopus::core::test
