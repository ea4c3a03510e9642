// Names of the exit-code classes, used in help texts and documentation.

#include "common/error.h"

namespace bpu {

const char* exit_code_name(ExitCode code) {
  switch (code) {
    case ExitCode::Ok: return "ok";
    case ExitCode::Usage: return "usage";
    case ExitCode::Config: return "config";
    case ExitCode::Model: return "model";
    case ExitCode::Unsupported: return "unsupported";
    case ExitCode::Accuracy: return "accuracy";
    case ExitCode::Io: return "io";
    case ExitCode::Artifact: return "artifact";
    case ExitCode::Internal: return "internal";
  }
  return "unknown";
}

}  // namespace bpu
