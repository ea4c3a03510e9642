// makertbin's outputs as one transaction: every file is written into a fresh private folder inside working_dir
// (`.bpu_mapper_tmp_<prefix>_XXXXXX`, created with mkdtemp, so parallel compiles never share a temporary path)
// and moved into working_dir only by commit(), under an exclusive lock on working_dir/.bpu_mapper.lock, each
// file by one rename. Destroyed without commit, the folder is removed and so is a working_dir this
// transaction created: a failing compile leaves nothing new and does not touch an earlier build's files.
#pragma once

#include <string>
#include <vector>

namespace bpu {

class OutputTransaction {
 public:
  // Throws Error(Io) when working_dir or the private folder cannot be created.
  OutputTransaction(const std::string& working_dir, const std::string& prefix);
  ~OutputTransaction();
  OutputTransaction(const OutputTransaction&) = delete;
  OutputTransaction& operator=(const OutputTransaction&) = delete;

  // Where to write `name` now (inside the private folder); remembered for commit().
  std::string staged(const std::string& name);
  // Moves every staged file into working_dir; throws Error(Io) when a rename fails (those already moved stay).
  void commit();

 private:
  void discard() noexcept;

  std::string working_dir_;
  std::string temp_dir_;
  std::vector<std::string> created_dirs_;  // folders this transaction created, deepest last
  std::vector<std::string> names_;
  bool committed_ = false;
};

}  // namespace bpu
