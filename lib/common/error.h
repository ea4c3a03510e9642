// Error type and exit codes shared by every stage and every tool.
// A stage that rejects its input throws bpu::Error with the exit-code class; the CLI prints the message once
// and exits with that code. Codes are documented in README.md and docs/cli.md.
#pragma once

#include <stdexcept>
#include <string>

namespace bpu {

enum class ExitCode : int {
  Ok = 0,
  Usage = 2,        // command-line misuse
  Config = 3,       // YAML missing, malformed, or a field with a wrong value
  Model = 4,        // ONNX file unreadable, malformed, or with impossible shapes / scales
  Unsupported = 5,  // valid model using something bpu-mapper cannot compile or run
  Accuracy = 6,     // an accuracy gate failed (verify)
  Io = 7,           // a file could not be read or written
  Artifact = 8,     // a .bin file that is corrupt, truncated, or for another march
  Internal = 70,    // a bug in bpu-mapper
};

const char* exit_code_name(ExitCode code);

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

}  // namespace bpu
