#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "State.h"
#include "crontopus/sdk/SchedulerPlugin.h"
#include "manifest/ManifestParser.h"

namespace crontopus::core {

// A job the manifests ask for, with what the scheduler plugin renders for it. Kept between
// cycles (thousands of them in a long-running agent), so it holds only what the reconciler and
// the state need of the manifest's sdk::Job: the whole job lives only through the cycle that
// parsed it, where its run spec is written from it.
struct DesiredJob {
  std::string source_file;  // manifest path relative to the repository root
  std::string schedule;     // as in the manifest
  std::string command;      // originalCommand(job)
  bool enabled = true;
  bool paused = false;
  std::string text;          // rendered entry; empty when rendering failed
  std::string render_error;  // non-empty when the plugin could not render the job
  std::string report;        // the plugin's notes (e.g. "superset schedule, gated by run")
  bool gate_runs = false;    // RenderedEntry::gate_runs: `run` gates and dedupes by minute
  std::string hash;          // sha256Hex(text), computed once per render; empty = compute
};

// One line of a plan, for `plan`, logs and the state. Changes of kind kUpdate may touch only the
// run spec (the command changed, the entry did not): those have `scheduler_change == false`.
struct PlanItem {
  sdk::ChangeKind kind = sdk::ChangeKind::kAdd;
  std::string identity;
  std::string reason;
  bool scheduler_change = true;
};

// An installed job left as it is because its manifest is broken (or the tree was incomplete).
struct KeptJob {
  std::string identity;
  std::string reason;
};

struct Plan {
  std::vector<PlanItem> items;       // every change, in identity order
  std::vector<sdk::Change> changes;  // what the scheduler plugin must apply (one batch)
  std::vector<KeptJob> kept;
  std::size_t unchanged = 0;
  // The state's job inventory once `changes` are applied.
  std::map<std::string, JobState> jobs_after;

  bool hasChanges() const { return !items.empty(); }
};

// Decides what to change, and nothing else: no I/O, deterministic (identity order).
//
// Rules (job-manifest-v1 and the design card): a job is removed only when its identity is absent
// from a tree read completely, or its manifest says `enabled: false`, or its selector excludes
// this agent. A job whose manifest failed (or whose identity two files claim) keeps whatever is
// installed. An installed entry that differs from what we last installed was edited by someone
// else: that is drift, restored to the rendered text. An entry we installed that is gone is
// drift too, and is put back.
Plan reconcile(const std::map<std::string, DesiredJob>& desired, const ManifestSet& manifests,
               const std::vector<sdk::InstalledEntry>& installed, const AgentState& previous);

// The command line as the job-instances report shows it: what `run` hands to the job's shell
// (platform::jobCommandLine: /bin/sh on Unix, cmd.exe on Windows). When Windows cannot pass an
// arg, the command followed by the reason in brackets: `run` refuses that job.
std::string originalCommand(const sdk::Job& job);

// The DesiredJob of `job`, without the rendering (text, hash...) filled in.
DesiredJob desiredJobFor(const sdk::Job& job);

}  // namespace crontopus::core
