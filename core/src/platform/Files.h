#pragma once

#include <cstddef>
#include <string>

namespace crontopus::core::platform {

enum class Durability {
  kSynced,    // on disk when the call returns (fsync of the file and its directory)
  kDeferred,  // the caller makes a batch durable with one syncFileSystem() afterwards
};

// Replaces `path` with `content` so that readers see either the old or the new file, never a
// mix, even if the process dies half way: a temporary file in the same directory, (fsync),
// rename, (fsync of the directory). `mode` applies to the new file from its creation on, so a
// secret is never readable by others, not even for a moment. Throws Poco::FileException naming
// the path.
void writeFileAtomic(const std::string& path, const std::string& content, unsigned mode,
                     Durability durability = Durability::kSynced);

// Creates `path`, which must not exist yet, with `content` and `mode` (from its creation on), in
// place: cheaper than writeFileAtomic (no temporary, no rename), but a reader may see the file
// partly written, and a crash may leave it so. Only for a file nothing reads yet, that the next
// writer checks (kDeferred: see syncFileSystem). Throws Poco::FileException naming the path, also
// when it exists.
void writeNewFile(const std::string& path, const std::string& content, unsigned mode);

// Removes the temporaries writeFileAtomic left in `dir` (not below it) when a process died
// between creating and renaming them (SIGKILL, power loss): files named ".NAME.tmpPID-N" whose
// process PID no longer exists. A live writer's temporary is left alone (and so is one whose PID
// was reused meanwhile). Returns how many were removed; errors are ignored (best effort).
int removeStaleTemporaries(const std::string& dir);

// Flushes everything written to the file system holding `path` (one call for a batch of
// kDeferred writes, instead of two fsyncs per file).
void syncFileSystem(const std::string& path);

// Appends `data` to `path` in one write (created with `mode` if missing), so that concurrent
// writers never interleave within it. Returns an error message naming the path, empty on success.
std::string appendToFile(const std::string& path, const std::string& data, unsigned mode);

// True when `path` exists but this process may not read it (permission denied); false when it
// is readable, missing or fails otherwise (the reader then reports that).
bool readDenied(const std::string& path);

enum class ReadStatus { kOk, kMissing, kRefused };
// Reads `path` without following a symbolic link in its last component, only if it is a regular
// file of at most `max_bytes`. kRefused: `error` says why (cannot open, not a regular file, too
// large).
ReadStatus readRegularFile(const std::string& path, std::size_t max_bytes, std::string& text,
                           std::string& error);

// Creates `path` and missing parents with `mode` (existing directories keep theirs).
void makeDirectories(const std::string& path, unsigned mode);

// An exclusive advisory lock on a file (created if missing), released when the object goes away
// or the process dies: the kernel drops it, so a crash never leaves a stale lock behind.
class FileLock {
 public:
  explicit FileLock(std::string path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // True when acquired; false when another process holds it. Throws on I/O errors.
  bool tryLock();
  // Waits until acquired. Throws on I/O errors.
  void lock();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace crontopus::core::platform
