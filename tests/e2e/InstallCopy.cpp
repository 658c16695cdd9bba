#include "InstallCopy.h"

#include <filesystem>

namespace crontopus::tests {

namespace fs = std::filesystem;

std::string installCopy(const std::string& agent_bin, const std::string& prefix) {
  const fs::path exe = fs::canonical(agent_bin);
  const fs::path build = exe.parent_path().parent_path();
  const auto perms = fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                     fs::perms::others_read | fs::perms::others_exec;
  for (const auto& d : {prefix, prefix + "/bin", prefix + "/lib", prefix + "/lib/crontopus",
                        prefix + "/lib/crontopus/plugins"}) {
    fs::create_directories(d);
    fs::permissions(d, perms);
  }
  auto copy = [&](const fs::path& from, const fs::path& to) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    fs::permissions(to, perms);
  };
  const std::string agent = prefix + "/bin/crontopus-agent";
  copy(exe, agent);
  // The lean wrapper the agent's entries call, installed beside it.
  copy(exe.parent_path() / "crontopus-run", prefix + "/bin/crontopus-run");
  for (const auto& e : fs::directory_iterator(build / "lib")) {
    if (e.path().filename().string().rfind("libcrontopus-sdk.so", 0) == 0)
      copy(e.path(), prefix + "/lib/" + e.path().filename().string());
  }
  // HTTPS for the control plane, loaded for an https:// api_url only.
  copy(build / "lib/crontopus/crontopus-tls.so", prefix + "/lib/crontopus/crontopus-tls.so");
  for (const auto& e : fs::directory_iterator(build / "lib/crontopus/plugins")) {
    if (e.path().extension() == ".so")
      copy(e.path(), prefix + "/lib/crontopus/plugins/" + e.path().filename().string());
  }
  return agent;
}

}  // namespace crontopus::tests
