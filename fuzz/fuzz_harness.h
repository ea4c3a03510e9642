// One fuzz input through one bpu-mapper entry point: the ONNX importer and the compile pipeline up to lowering,
// the YAML config loader, and the .bin loader with the runtime's validation and one run. Shared by the libFuzzer
// targets (fuzz_*.cpp) and by the Catch2 test that replays test/data/fuzz_regressions/.
// Each function returns when the input was accepted or refused with a bpu::Error; anything else (another
// exception, a sanitizer report, a crash) escapes to the caller and is a finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace bpu::fuzz {

struct Outcome {
  bool accepted = false;
  ExitCode code = ExitCode::Ok;  // the bpu::Error's code when refused
  std::string message;           // the bpu::Error's message when refused
};

// Bytes as an ONNX file -> compile_model with a fixed config (march bayes, O2), then the compiled model through
// serialize_model, deserialize_model and the runtime's validation (no run).
Outcome run_onnx(const uint8_t* data, size_t size);

// Bytes as the text of an hb_mapper YAML -> parse_config (next to an existing model.onnx) and the perf model's
// hardware keys.
Outcome run_config(const uint8_t* data, size_t size);

// Bytes as a .bin -> deserialize_model, ModelRunner (complete validation) and one run with all-zero inputs.
// With `fix_checksums` the header's file size and every CRC are recomputed first, so that mutations reach the
// checks behind them (the CRC checks themselves have unit tests).
Outcome run_bin(const uint8_t* data, size_t size, bool fix_checksums = true);

// Rewrites the file-size field, each section's CRC and the header CRC of a .bin image in place, as far as the
// header and section table can be read; leaves anything else untouched.
void fix_bin_checksums(std::vector<uint8_t>& bytes);

// Quiets the library's logging (the fuzz loop would spend its time printing).
void quiet_logging();

}  // namespace bpu::fuzz
