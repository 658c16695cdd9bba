#include "Reconciler.h"

#include <algorithm>

#include <Poco/Exception.h>

#include "RunSpec.h"
#include "platform/JobProcess.h"

namespace crontopus::core {

std::string originalCommand(const sdk::Job& job) {
  std::vector<std::string> environment;
  for (const auto& [name, value] : job.env)
    environment.push_back(name + "=" + value);
  try {
    return platform::jobCommandLine(job.command, job.args, environment);
  } catch (const Poco::InvalidArgumentException& e) {
    // Windows only: `run` refuses the job; the report says why instead of a line never run.
    return job.command + " [args refused: " + e.message() + "]";
  }
}

DesiredJob desiredJobFor(const sdk::Job& job) {
  DesiredJob d;
  d.source_file = job.source_file;
  d.schedule = job.schedule;
  d.command = originalCommand(job);
  d.enabled = job.enabled;
  d.paused = job.paused;
  return d;
}

namespace {

std::string heldReason(const std::string& identity, const ManifestSet& m, const JobState* prev) {
  auto describe = [&](const std::string& file) {
    for (const auto& e : m.errors) {
      if (e.file == file) {
        return file + (e.line > 0 ? ":" + std::to_string(e.line) : "") + ": " +
               (e.field.empty() ? "" : e.field + ": ") + e.message;
      }
    }
    return file + ": invalid";
  };
  for (const auto& [file, id] : m.failed_file_identity) {
    if (id == identity)
      return "manifest error, keeping the installed entry: " + describe(file);
  }
  if (prev != nullptr && m.failed_files.count(prev->source_file) != 0) {
    return "manifest error, keeping the installed entry: " + describe(prev->source_file);
  }
  return "identity claimed by more than one manifest, keeping the installed entry";
}

JobState stateFor(const DesiredJob& d) {
  JobState s;
  s.hash = d.hash.empty() ? sha256Hex(d.text) : d.hash;
  s.status = d.paused ? "paused" : "scheduled";
  s.source_file = d.source_file;
  s.schedule = d.schedule;
  s.command = d.command;
  s.paused = d.paused;
  return s;
}

}  // namespace

Plan reconcile(const std::map<std::string, DesiredJob>& desired, const ManifestSet& manifests,
               const std::vector<sdk::InstalledEntry>& installed, const AgentState& previous) {
  Plan plan;
  // Every input is walked once, merged in identity order: no lookups and no copies of
  // identities, which an unchanged cycle of thousands of jobs would otherwise spend its time on.
  std::vector<const sdk::InstalledEntry*> by_id;
  by_id.reserve(installed.size());
  for (const auto& e : installed)
    by_id.push_back(&e);
  std::stable_sort(by_id.begin(), by_id.end(),
                   [](const auto* a, const auto* b) { return a->identity < b->identity; });
  auto d_it = desired.begin();
  auto i_it = by_id.begin();
  auto p_it = previous.jobs.begin();
  auto h_it = manifests.held_identities.begin();

  auto add = [&](sdk::ChangeKind kind, const std::string& id, std::string reason,
                 const DesiredJob* d) {
    plan.items.push_back({kind, id, reason, true});
    sdk::Change c;
    c.kind = kind;
    c.identity = id;
    c.reason = std::move(reason);
    if (d != nullptr) {
      c.text = d->text;
      c.paused = d->paused;
    }
    plan.changes.push_back(std::move(c));
  };
  auto settle = [&](const std::string& id, JobState s) {
    plan.jobs_after.emplace_hint(plan.jobs_after.end(), id, std::move(s));
  };

  for (;;) {
    const std::string* lowest = nullptr;
    auto consider = [&](const std::string& candidate) {
      if (lowest == nullptr || candidate < *lowest)
        lowest = &candidate;
    };
    if (d_it != desired.end())
      consider(d_it->first);
    if (i_it != by_id.end())
      consider((*i_it)->identity);
    if (p_it != previous.jobs.end())
      consider(p_it->first);
    if (h_it != manifests.held_identities.end())
      consider(*h_it);
    if (lowest == nullptr)
      break;
    const std::string& id = *lowest;  // owned by an input, which outlives the loop
    const DesiredJob* d = nullptr;
    if (d_it != desired.end() && d_it->first == id)
      d = &(d_it++)->second;
    const sdk::InstalledEntry* inst = nullptr;
    if (i_it != by_id.end() && (*i_it)->identity == id) {
      inst = *i_it;
      while (i_it != by_id.end() && (*i_it)->identity == id)
        ++i_it;  // the first of two entries claiming one identity is the one considered
    }
    const JobState* prev = nullptr;
    if (p_it != previous.jobs.end() && p_it->first == id)
      prev = &(p_it++)->second;
    bool held = false;
    if (h_it != manifests.held_identities.end() && *h_it == id) {
      held = true;
      ++h_it;
    }

    held = held || (prev != nullptr && d == nullptr &&
                    manifests.failed_files.count(prev->source_file) != 0);
    std::string held_reason;
    bool render_failed = false;
    if (held) {
      held_reason = heldReason(id, manifests, prev);
    } else if (d != nullptr && d->enabled && !d->render_error.empty()) {
      held = render_failed = true;
      held_reason =
          std::string(inst != nullptr ? "cannot render the entry, keeping the installed one: "
                                      : "cannot render the entry, not installed: ") +
          d->render_error;
    }
    if (held) {
      // A job the plugin cannot render is an error even when nothing is installed yet: the
      // parser found nothing wrong, so without this it would vanish and `apply` would exit 0.
      if (inst != nullptr || prev != nullptr || render_failed) {
        plan.kept.push_back({id, held_reason});
        JobState s = prev != nullptr ? *prev : JobState{};
        if (inst != nullptr)
          s.hash = sha256Hex(inst->text);
        s.status = "error";
        s.error = held_reason;
        if (inst != nullptr)
          settle(id, std::move(s));
      }
      continue;
    }

    if (d != nullptr && d->enabled) {
      const std::string& file = d->source_file;
      JobState next = stateFor(*d);
      if (inst == nullptr) {
        if (prev != nullptr) {
          add(sdk::ChangeKind::kDrift, id,
              "entry was removed from the scheduler outside the agent; restoring it", d);
        } else {
          add(sdk::ChangeKind::kAdd, id, "new job from " + file, d);
        }
      } else if (inst->text == d->text) {
        if (prev != nullptr && prev->command != next.command) {
          plan.items.push_back(
              {sdk::ChangeKind::kUpdate, id, "command changed (run spec only)", false});
        } else {
          ++plan.unchanged;
        }
      } else if (prev != nullptr && !prev->hash.empty() && prev->hash != sha256Hex(inst->text)) {
        add(sdk::ChangeKind::kDrift, id,
            "installed entry was edited outside the agent; restoring it", d);
      } else if (inst->paused != d->paused && (prev == nullptr || prev->schedule == d->schedule)) {
        add(d->paused ? sdk::ChangeKind::kPause : sdk::ChangeKind::kResume, id,
            d->paused ? "paused: true in " + file : "paused: false in " + file, d);
      } else {
        std::string reason;
        if (prev != nullptr && prev->schedule != d->schedule) {
          reason = "schedule changed from \"" + prev->schedule + "\" to \"" + d->schedule + "\"";
        }
        if (inst->paused != d->paused) {
          reason += std::string(reason.empty() ? "" : "; ") + (d->paused ? "paused" : "resumed");
        }
        if (prev != nullptr && prev->command != next.command) {
          reason += std::string(reason.empty() ? "" : "; ") + "command changed";
        }
        if (reason.empty())
          reason = "rendered entry changed (schedule, zone or agent path)";
        add(sdk::ChangeKind::kUpdate, id, reason, d);
      }
      settle(id, std::move(next));
      continue;
    }

    // Not wanted here. Remove only what is installed, and only for a good reason.
    if (inst == nullptr)
      continue;
    std::string reason;
    if (d != nullptr) {
      reason = "enabled: false in " + d->source_file;
    } else if (manifests.unselected.count(id) != 0) {
      reason = "selector in its manifest does not match this agent";
    } else if (!manifests.tree_complete) {
      plan.kept.push_back({id, "repository was not read completely; not removing"});
      JobState s = prev != nullptr ? *prev : JobState{};
      s.hash = sha256Hex(inst->text);
      if (s.status.empty())
        s.status = inst->paused ? "paused" : "scheduled";
      settle(id, std::move(s));
      continue;
    } else {
      reason = "manifest removed from the repository";
    }
    add(sdk::ChangeKind::kRemove, id, reason, nullptr);
  }
  return plan;
}

}  // namespace crontopus::core
