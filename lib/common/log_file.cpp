// Unbuffered, locked log file sink.

#include "common/log_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/crash_guard.h"
#include "common/error.h"

namespace bpu {

namespace {

// Opens `path` and takes its lock without waiting; -1 when it cannot be opened or another process holds it.
int open_locked(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 || ::ftruncate(fd, 0) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

FlushedFileSink::FlushedFileSink(const std::string& path) : path_(path) {
  fd_ = open_locked(path_);
  if (fd_ < 0) {
    std::string stem = path_.size() > 4 && path_.compare(path_.size() - 4, 4, ".log") == 0 ? path_.substr(0, path_.size() - 4) : path_;
    path_ = stem + "." + std::to_string(::getpid()) + ".log";
    fd_ = open_locked(path_);
  }
  if (fd_ < 0) throw Error(ExitCode::Io, "cannot write log file '" + path + "': " + std::strerror(errno));
  crash_guard_set_log_fd(fd_);
}

FlushedFileSink::~FlushedFileSink() {
  crash_guard_set_log_fd(-1);
  if (fd_ >= 0) ::close(fd_);
}

void FlushedFileSink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t formatted;
  formatter_->format(msg, formatted);
  const char* p = formatted.data();
  size_t left = formatted.size();
  while (left > 0) {
    ssize_t w = ::write(fd_, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    p += w;
    left -= static_cast<size_t>(w);
  }
  crash_guard_note_message(std::string(msg.payload.data(), msg.payload.size()));
}

}  // namespace bpu
