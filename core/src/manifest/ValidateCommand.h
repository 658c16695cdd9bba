#pragma once

#include <ostream>
#include <string>

namespace crontopus::core {

// `crontopus-agent validate DIR [--format json]`: reads DIR exactly as the agent would (same
// parser, same rules) but with no config and no network, for a manifest repository's own CI.
//
// Differences from the agent, both because CI has no agent identity and no agent environment:
// every job counts as matching its selector, and a `${VAR}` in `checkin.secret` that is not set
// is a warning rather than an error.
//
// Text output (to `out`): one line per error `FILE:LINE:COLUMN: FIELD: message` (LINE:COLUMN
// omitted when unknown, FIELD omitted when the error is about the whole file), then
// `N jobs, M errors`. Warnings go to `err` prefixed with "warning: ". JSON output (to `out`):
// {"jobs": N, "errors": [{"file", "line", "column", "field", "message"}], "warnings": [...]}.
// Returns the exit code: 0 when there are no errors, 1 otherwise. Never throws.
int runValidate(const std::string& dir, bool json, std::ostream& out, std::ostream& err);

}  // namespace crontopus::core
