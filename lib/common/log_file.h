// The tools' log file: every message is written with write(2) as it is logged (nothing buffered, so warnings,
// errors and the crash guard's last words are on disk whatever happens next). The file is locked while the
// process runs; a second process logging in the same folder writes `<stem>.<pid>.log` instead of tearing it.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <mutex>
#include <string>

namespace bpu {

class FlushedFileSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Throws Error(Io) when neither the file nor its per-process fallback can be opened.
  explicit FlushedFileSink(const std::string& path);
  ~FlushedFileSink() override;
  const std::string& path() const { return path_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace bpu
