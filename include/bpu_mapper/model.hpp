// bpu-mapper's public C++ runtime API (bpu_mapper::runtime): load a compiled .bin, inspect it, run it on
// float32 tensors, print its description and disassembly, and estimate its bayes latency. Only standard types
// appear here; every failure throws bpu_mapper::Error carrying the exit-code class (docs/api.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bpu_mapper/runtime.h"

namespace bpu_mapper {

BPU_MAPPER_API std::string version();

// Exit-code class (bpu_status_t: 2 usage, 3 config, 4 model, 5 unsupported, 6 accuracy, 7 io, 8 artifact,
// 70 internal) and one message naming the file, node or field and the fix.
class BPU_MAPPER_API Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message);
  ~Error() override;
  int code() const { return code_; }

 private:
  int code_;
};

// Float32 values in C order.
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};
using TensorMap = std::map<std::string, Tensor>;

// A model input or output as the .bin records it.
struct TensorDesc {
  std::string name;
  std::string dtype;            // "float32", "int8", "int16", "int32"; "uint8" for an image input's pixels
  std::vector<int64_t> shape;
  std::vector<float> scales;    // empty for float32; 1 = per tensor; else per channel along `axis`
  int axis = -1;
  std::string layout;           // "NCHW" or "row-major"
  // Inputs: the runtime type ("featuremap", "rgb", "bgr", "yuv444", "gray", "nv12") and the preprocessing the .bin
  // applies on the BPU, e.g. "nv12 (regular) -> rgb NCHW, data_mean_and_scale" ("" when there is none).
  std::string input_type = "featuremap";
  std::string preprocessing;
};

// The static bayes estimate (hb_perf's numbers) of a loaded model.
struct SegmentEstimate {
  int index = 0;                // BPU segment ordinal
  double latency_ms = 0, macs = 0, ddr_load_bytes = 0, ddr_store_bytes = 0;
  size_t instructions = 0;
};
struct PerfEstimate {
  double latency_ms = 0, fps = 0, macs = 0, ddr_load_bytes = 0, ddr_store_bytes = 0;
  size_t bpu_segments = 0, cpu_segments = 0;
  std::vector<SegmentEstimate> segments;
  std::string text;             // `bpu-mapper perf`'s table
  std::string json;             // the report JSON's performance_estimate object
  std::string svg;              // the segment picture
  std::string html;             // the self-contained HTML page (placement and accuracy when a report JSON was read)
};

// hrt_model_exec's profile of a loaded model: mean host time per BPU instruction, CPU node and host
// quantize/dequantize step over `runs` inferences.
struct ProfileResult {
  double total_ms = 0;  // mean time of one inference, the sum of the entries
  int runs = 0;
  std::string csv;      // index,device,segment,op,node,time_ms,share
  std::string json;     // {"total_ms", "runs", "segments": [...], "entries": [...]}
  std::string summary;  // per-segment totals as a text table
};

class BPU_MAPPER_API Model {
 public:
  // Reads and validates `path` completely (Error 7 for a missing file, 8 for a corrupt or foreign .bin).
  static Model load(const std::string& path);
  // The same, refusing (Error 8, naming both) a .bin compiled for another march than `march` (bayes, bayes-e,
  // bernoulli2); an empty `march` accepts any.
  static Model load(const std::string& path, const std::string& march);
  // The same for model `model_name` of a packed file (`bpu-mapper pack`); for a plain .bin "" or its own name
  // (the file name without .bin). Error(2) listing the names the file holds for any other name, or for "" on a
  // packed file.
  static Model load(const std::string& path, const std::string& march, const std::string& model_name);

  const std::string& path() const;
  const std::vector<TensorDesc>& inputs() const;
  const std::vector<TensorDesc>& outputs() const;

  // One inference. Throws Error(2) for a missing, unknown or wrongly shaped input. One Model runs one inference
  // at a time (load one Model per thread to run in parallel).
  TensorMap run(const TensorMap& inputs) const;
  // Reads input `name` from a file: .npy; a JPEG/PNG/BMP picture for an image input (converted to its runtime type);
  // or raw bytes (uint8 pixels for image inputs, float32 otherwise; the shape from the .bin). Throws Error(2).
  Tensor read_input(const std::string& name, const std::string& path) const;
  // One warm-up inference, then `runs` (1..10000) timed ones; outputs are discarded. Error(2) as run().
  ProfileResult profile(const TensorMap& inputs, int runs = 5) const;
  // Simulator worker threads (results are identical for every count); 0 = all cores. Default 1.
  void set_threads(int threads);

  std::string info() const;                       // `bpu-mapper info`
  std::string disassembly(int segment = -1) const;  // `bpu-mapper disasm`; one BPU segment when >= 0
  // `report_json`: makertbin's <prefix>_report.json for the HTML page's placement and accuracy tables; "" for
  // none. A file that cannot be read or parsed leaves a note on the page instead of the tables.
  // `measure_runs` > 0 (at most 10000): also runs the model that many times on zero inputs and puts the mean host
  // time per segment next to the estimate (`perf --measure N`).
  PerfEstimate estimate(const std::string& report_json = "", int measure_runs = 0) const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

// The models a file holds: the names in a packed file, or the one name of a plain .bin (its file name without
// .bin). Error(7) for a missing file, 8 for a corrupt one.
BPU_MAPPER_API std::vector<std::string> model_names(const std::string& path);

// .npy files (float32, or float64 converted on read), as `bpu-mapper run` reads and writes them.
BPU_MAPPER_API Tensor load_npy(const std::string& path);
BPU_MAPPER_API void save_npy(const std::string& path, const Tensor& tensor);
// In the integer type `dtype` ("int8", "int16", "int32", "uint8"; the tensor holds integer codes) or "float32".
BPU_MAPPER_API void save_npy(const std::string& path, const Tensor& tensor, const std::string& dtype);
// The file name `bpu-mapper run` gives an output: the tensor name with '/' replaced by '_', plus ".npy".
BPU_MAPPER_API std::string output_file_name(const std::string& tensor_name);
// "1x3x224x224" (or "1,3,224,224") -> {1, 3, 224, 224}; Error(2) naming `what` for anything else.
BPU_MAPPER_API std::vector<int64_t> parse_shape(const std::string& text, const std::string& what);
// Writes `text` to `path` atomically (a temporary file renamed into place): Error(7) on failure, nothing left.
BPU_MAPPER_API void save_text(const std::string& path, const std::string& text);

// Process-wide settings for tools built on the library (the bpu-mapper CLI uses exactly these):
// the library logs through spdlog's default logger; this one prints info and above to the console as "I text"
// ("E text" for errors) and, when `log_file` is not empty, debug and above to that file, flushed per line (a
// file another process holds open gets a ".<pid>" suffix). Returns the log file used ("" for none).
BPU_MAPPER_API std::string configure_logging(const std::string& log_file);
// Progress lines for makertbin's phases: redrawn in place on a terminal, plain lines otherwise.
BPU_MAPPER_API void set_progress(bool enabled);
// On a fatal signal, writes the compile phase and last log message to stderr and the log file and removes
// makertbin's staging folder, then re-raises the signal.
BPU_MAPPER_API void install_crash_guard();

}  // namespace bpu_mapper
