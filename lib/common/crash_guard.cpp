// The fatal-signal handler and the small state it reports. The handler only uses write, unlink, rmdir,
// opendir/readdir (the last two not formally async-signal-safe; used to remove the staging folder) and raise.

#include "common/crash_guard.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace bpu {

namespace {

char g_phase[128] = "start";
char g_last[1024] = "";
char g_temp_dir[2048] = "";
constexpr int kMaxCreated = 8;
char g_created[kMaxCreated][1024] = {};
int g_created_count = 0;
std::atomic<int> g_log_fd{-1};
std::mutex g_mutex;

void copy_into(char* dst, size_t cap, const std::string& s) {
  std::lock_guard<std::mutex> lock(g_mutex);
  size_t n = std::min(cap - 1, s.size());
  std::memcpy(dst, s.data(), n);
  dst[n] = '\0';
}

void write_all(int fd, const char* s) {
  if (fd < 0) return;
  size_t len = std::strlen(s);
  while (len > 0) {
    ssize_t w = ::write(fd, s, len);
    if (w <= 0) return;
    s += w;
    len -= static_cast<size_t>(w);
  }
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "signal";
  }
}

void remove_temp_dir() {
  if (!g_temp_dir[0]) return;
  if (DIR* d = ::opendir(g_temp_dir)) {
    char path[4096];
    while (dirent* e = ::readdir(d)) {
      if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
      size_t a = std::strlen(g_temp_dir), b = std::strlen(e->d_name);
      if (a + b + 2 > sizeof(path)) continue;
      std::memcpy(path, g_temp_dir, a);
      path[a] = '/';
      std::memcpy(path + a + 1, e->d_name, b + 1);
      ::unlink(path);
    }
    ::closedir(d);
  }
  ::rmdir(g_temp_dir);
  for (int i = g_created_count - 1; i >= 0; --i) ::rmdir(g_created[i]);
}

void on_fatal(int sig) {
  const char* parts[] = {"F fatal ", signal_name(sig), " during phase '", g_phase, "'; last message: ", g_last,
                         "\nF this is a bug in bpu-mapper; please report it with the model and this log\n"};
  for (int fd : {g_log_fd.load(), static_cast<int>(STDERR_FILENO)}) {
    for (const char* p : parts) write_all(fd, p);
    if (fd >= 0 && fd != STDERR_FILENO) ::fsync(fd);
  }
  remove_temp_dir();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

void crash_guard_install() {
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL}) {
    struct sigaction sa {};
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_NODEFER;
    ::sigaction(sig, &sa, nullptr);
  }
}

void crash_guard_set_log_fd(int fd) { g_log_fd = fd; }
void crash_guard_set_phase(const std::string& phase) { copy_into(g_phase, sizeof(g_phase), phase); }
void crash_guard_note_message(const std::string& message) { copy_into(g_last, sizeof(g_last), message); }
void crash_guard_set_temp_dir(const std::string& dir, const std::vector<std::string>& created) {
  copy_into(g_temp_dir, sizeof(g_temp_dir), dir);
  int n = 0;
  for (const auto& c : created) {
    if (n == kMaxCreated || c.size() >= sizeof(g_created[0])) break;
    copy_into(g_created[n++], sizeof(g_created[0]), c);
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  g_created_count = dir.empty() ? 0 : n;
}

}  // namespace bpu
