// Process-wide helpers for tools built on the public API (include/bpu_mapper/model.hpp): logging set-up, progress,
// the crash guard, shapes from the command line and atomic text files. The bpu-mapper CLI uses exactly these.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "api/public/guard.h"
#include "common/crash_guard.h"
#include "common/file_io.h"
#include "common/log_file.h"
#include "common/progress.h"
#include "config/config.h"

namespace bpu_mapper {

std::vector<int64_t> parse_shape(const std::string& text, const std::string& what) {
  try {
    return bpu::parse_shape(text, what);
  } catch (const bpu::Error& e) {
    throw Error(BPU_ERR_USAGE, e.what());
  }
}

void save_text(const std::string& path, const std::string& text) {
  detail::guarded([&] { bpu::write_file_atomic(path, text.data(), text.size()); });
}

std::string configure_logging(const std::string& log_file) {
  std::vector<spdlog::sink_ptr> sinks;
  auto console = std::make_shared<spdlog::sinks::stdout_color_sink_mt>();
  console->set_level(spdlog::level::info);
  console->set_pattern("%^%L%$ %v");
  sinks.push_back(console);
  std::string log_path;
  if (!log_file.empty()) {
    try {
      auto file = std::make_shared<bpu::FlushedFileSink>(log_file);
      file->set_level(spdlog::level::debug);
      file->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
      log_path = file->path();
      sinks.push_back(file);
    } catch (const bpu::Error& e) {
      std::cerr << "W " << e.what() << "\n";
    }
  }
  auto logger = std::make_shared<spdlog::logger>("bpu-mapper", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  if (!log_path.empty() && log_path != log_file) {
    spdlog::warn("'{}' is in use by another bpu-mapper process; this run logs to '{}'", log_file, log_path);
  }
  return log_path;
}

void set_progress(bool enabled) { bpu::enable_progress(enabled); }

void install_crash_guard() { bpu::crash_guard_install(); }

}  // namespace bpu_mapper
