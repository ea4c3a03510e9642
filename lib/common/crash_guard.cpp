// The fatal-signal handler and the small state it reports. The handler only uses async-signal-safe calls: write,
// fsync, open, the getdents64 system call (to list the staging folder into a static buffer), unlinkat, rmdir,
// close and raise. (opendir/readdir allocate: a signal that lands inside malloc then deadlocks the handler on
// the allocator's lock, seen when SIGSEGV arrived during protobuf parsing.)

#include "common/crash_guard.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
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

// Entries as the getdents64 system call writes them (linux_dirent64).
struct DirEntry64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[1];
};

alignas(8) char g_dirents[16384];

void remove_temp_dir() {
  if (!g_temp_dir[0]) return;
  const int dir = ::open(g_temp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    for (;;) {
      const long n = ::syscall(SYS_getdents64, dir, g_dirents, sizeof(g_dirents));
      if (n <= 0) break;
      for (long at = 0; at < n;) {
        const DirEntry64* e = reinterpret_cast<const DirEntry64*>(g_dirents + at);
        if (std::strcmp(e->name, ".") && std::strcmp(e->name, "..")) ::unlinkat(dir, e->name, 0);
        at += e->reclen;
      }
    }
    ::close(dir);
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
