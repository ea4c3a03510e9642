// Progress for long phases: a single rewritten line on stderr while it is a terminal; nothing otherwise, so
// logs, pipes and CI output stay clean.
#pragma once

#include <string>

namespace bpu {

// Enabled by the CLI; library users and tests stay quiet.
void enable_progress(bool enabled);
void report_progress(const std::string& phase, int done, int total);
void end_progress();

}  // namespace bpu
