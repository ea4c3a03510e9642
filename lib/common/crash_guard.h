// Fatal-signal guard for the command-line tools: on SIGSEGV, SIGABRT, SIGBUS, SIGFPE or SIGILL the handler
// writes the phase and the last log message to the log file and to stderr, removes makertbin's private
// staging folder (best effort), then re-raises the signal with the default action (so the exit status and a
// core dump stay those of the crash).
#pragma once

#include <string>
#include <vector>

namespace bpu {

void crash_guard_install();
void crash_guard_set_log_fd(int fd);                   // -1: no log file
void crash_guard_set_phase(const std::string& phase);  // e.g. "import", "accuracy run"
void crash_guard_note_message(const std::string& message);
// The staging folder to remove on a crash ("" when none) and the folders created for it, outermost first
// (removed too when empty).
void crash_guard_set_temp_dir(const std::string& dir, const std::vector<std::string>& created = {});

}  // namespace bpu
