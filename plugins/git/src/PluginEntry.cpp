#include "GitSourcePlugin.h"
#include "crontopus/sdk/Plugin.h"

CRONTOPUS_DECLARE_SOURCE_PLUGIN(crontopus::plugins::git::GitSourcePlugin, "git", "0.1.0",
                                "Git repository source on libgit2 (https, http, ssh, git, file)")
