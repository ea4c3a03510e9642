// Staging folder, locked commit and rollback of makertbin's output files.

#include "api/output_transaction.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/crash_guard.h"
#include "common/error.h"

namespace bpu {

namespace fs = std::filesystem;

OutputTransaction::OutputTransaction(const std::string& working_dir, const std::string& prefix) : working_dir_(working_dir) {
  std::error_code ec;
  std::vector<fs::path> missing;
  for (fs::path p = fs::path(working_dir); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) missing.push_back(p);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    const bool made = fs::create_directory(*it, ec);  // false without error: another process made it first
    if (ec) {
      discard();
      throw Error(ExitCode::Io, "cannot create model_parameters.working_dir '" + working_dir + "': " + ec.message());
    }
    if (made) created_dirs_.push_back(it->string());
  }
  std::string tmpl = (fs::path(working_dir) / (".bpu_mapper_tmp_" + prefix + "_XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) {
    const int err = errno;
    discard();
    throw Error(ExitCode::Io, "cannot create a temporary folder in working_dir '" + working_dir + "': " + std::strerror(err));
  }
  temp_dir_ = tmpl;
  crash_guard_set_temp_dir(temp_dir_, created_dirs_);
}

OutputTransaction::~OutputTransaction() {
  if (!committed_) discard();
  crash_guard_set_temp_dir("");
}

std::string OutputTransaction::staged(const std::string& name) {
  names_.push_back(name);
  return (fs::path(temp_dir_) / name).string();
}

void OutputTransaction::commit() {
  const std::string lock_path = (fs::path(working_dir_) / ".bpu_mapper.lock").string();
  int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    if (lock >= 0) ::close(lock);
    throw Error(ExitCode::Io, "cannot lock '" + lock_path + "': " + std::strerror(errno));
  }
  for (const auto& name : names_) {
    const std::string from = (fs::path(temp_dir_) / name).string();
    const std::string to = (fs::path(working_dir_) / name).string();
    if (std::rename(from.c_str(), to.c_str()) != 0) {
      const int err = errno;
      ::close(lock);
      throw Error(ExitCode::Io, "cannot move '" + from + "' to '" + to + "': " + std::strerror(err));
    }
  }
  // No fsync: the renames make the outputs appear whole and at once, which is what parallel compiles and
  // readers need; an fsync of the folder would make the kernel write out the ~4 model-sized files first (about a
  // second per compile on large networks) for durability across a power loss, which a rebuild restores anyway.
  ::close(lock);  // releases the lock
  committed_ = true;
  std::error_code ec;
  fs::remove_all(temp_dir_, ec);
}

void OutputTransaction::discard() noexcept {
  std::error_code ec;
  if (!temp_dir_.empty()) fs::remove_all(temp_dir_, ec);
  for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) fs::remove(*it, ec);  // only if empty
}

}  // namespace bpu
