#include "platform/JobProcess.h"

// clang-format off
#include <winsock2.h>
#include <windows.h>
// clang-format on

#include <algorithm>
#include <map>

#include "CommandQuoting.h"
#include "platform/windows/WindowsSecurity.h"

namespace crontopus::core::platform {

namespace {

struct Reader {
  HANDLE pipe = nullptr;
  HANDLE out = INVALID_HANDLE_VALUE;
  std::size_t cap = 0;
  std::size_t tail_bytes = 0;
  std::size_t written = 0;
  std::string tail;
};

DWORD WINAPI readOutput(void* arg) {
  auto* r = static_cast<Reader*>(arg);
  char buf[16384];
  DWORD n = 0;
  while (ReadFile(r->pipe, buf, sizeof buf, &n, nullptr) && n > 0) {
    keepTail(r->tail, buf, n, r->tail_bytes);
    if (r->out != INVALID_HANDLE_VALUE && r->written < r->cap) {
      const DWORD take = static_cast<DWORD>(std::min<std::size_t>(n, r->cap - r->written));
      DWORD done = 0;
      if (WriteFile(r->out, buf, take, &done, nullptr))
        r->written += done;
    }
  }
  return 0;
}

// A UTF-16 environment block, sorted case-insensitively as Windows expects.
std::wstring environmentBlock(const std::vector<std::string>& env) {
  std::map<std::wstring, std::wstring> sorted;
  for (const auto& entry : env) {
    const std::wstring w = windows::wide(entry);
    std::wstring key = w.substr(0, w.find(L'='));
    std::transform(key.begin(), key.end(), key.begin(), ::towupper);
    sorted[key] = w;
  }
  std::wstring block;
  for (const auto& [key, value] : sorted) {
    block += value;
    block.push_back(L'\0');
  }
  block.push_back(L'\0');
  return block;
}

}  // namespace

std::string jobCommandLine(const std::string& command, const std::vector<std::string>& args,
                           const std::vector<std::string>& environment) {
  return cmdCommandLine(command, args, environment);
}

// The job runs as `cmd.exe /d /v:off /s /c "<command>"` in a Job Object (/v:off: delayed
// expansion, which the registry can make the default, would read !NAME! even in escaped args),
// with no console window (the Task Scheduler starts `run` without one) and stdin from NUL. Windows
// has no SIGTERM for a windowless process: at the timeout the whole Job Object is terminated at
// once (kill_grace_seconds does not apply). When the command's own process exits, output still
// arriving is collected for 2 s, then whatever it left running in the job is ended too.
JobProcessOutcome runJobProcess(const JobProcessSpec& spec) {
  JobProcessOutcome outcome;
  const auto started = std::chrono::steady_clock::now();
  auto startError = [&](const std::string& what) {
    outcome.start_error = what + ": " + windows::errorText(GetLastError());
    outcome.exit_code = 127;
    return outcome;
  };

  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE read_end = nullptr;
  HANDLE write_end = nullptr;
  if (!CreatePipe(&read_end, &write_end, &inherit, 0))
    return startError("cannot create a pipe");
  SetHandleInformation(read_end, HANDLE_FLAG_INHERIT, 0);
  HANDLE null_in = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
                               OPEN_EXISTING, 0, nullptr);

  Reader reader;
  reader.pipe = read_end;
  reader.cap = spec.output_cap;
  reader.tail_bytes = spec.tail_bytes;
  if (!spec.output_path.empty()) {
    reader.out =
        CreateFileW(windows::wide(spec.output_path).c_str(), GENERIC_WRITE, FILE_SHARE_READ,
                    nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  }

  HANDLE job = CreateJobObjectW(nullptr, nullptr);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (job != nullptr)
    SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits);

  std::wstring comspec(MAX_PATH, L'\0');
  const DWORD len = GetEnvironmentVariableW(L"ComSpec", comspec.data(), MAX_PATH);
  comspec = len > 0 && len < MAX_PATH ? comspec.substr(0, len) : L"cmd.exe";
  std::wstring command_line =
      L"\"" + comspec + L"\" /d /v:off /s /c \"" + windows::wide(spec.shell_command) + L"\"";
  std::wstring env = environmentBlock(spec.env);
  const std::wstring dir = windows::wide(spec.working_dir);

  STARTUPINFOW si{};
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = null_in;
  si.hStdOutput = write_end;
  si.hStdError = write_end;
  PROCESS_INFORMATION pi{};
  const BOOL created = CreateProcessW(
      nullptr, command_line.data(), nullptr, nullptr, TRUE,
      CREATE_SUSPENDED | CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT | CREATE_NEW_PROCESS_GROUP,
      env.data(), dir.empty() ? nullptr : dir.c_str(), &si, &pi);
  const DWORD create_error = GetLastError();
  CloseHandle(write_end);
  if (null_in != INVALID_HANDLE_VALUE)
    CloseHandle(null_in);
  if (!created) {
    CloseHandle(read_end);
    if (reader.out != INVALID_HANDLE_VALUE)
      CloseHandle(reader.out);
    if (job != nullptr)
      CloseHandle(job);
    SetLastError(create_error);
    return startError(create_error == ERROR_DIRECTORY
                          ? "cannot change to the working directory " + spec.working_dir
                          : "cannot start " + windows::utf8(comspec));
  }
  if (job != nullptr)
    AssignProcessToJobObject(job, pi.hProcess);
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);

  HANDLE reader_thread = CreateThread(nullptr, 0, readOutput, &reader, 0, nullptr);
  const auto deadline = started + std::chrono::seconds(spec.timeout_seconds);
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      outcome.timed_out = true;
      if (job != nullptr)
        TerminateJobObject(job, 1);
      else
        TerminateProcess(pi.hProcess, 1);
      WaitForSingleObject(pi.hProcess, 10000);
      break;
    }
    if (WaitForSingleObject(pi.hProcess, static_cast<DWORD>(std::min<long long>(left, 1000))) ==
        WAIT_OBJECT_0)
      break;
  }
  // Output a background process keeps writing is not waited for beyond 2 s.
  if (reader_thread != nullptr && WaitForSingleObject(reader_thread, 2000) == WAIT_TIMEOUT) {
    if (job != nullptr)
      TerminateJobObject(job, 1);
    CancelSynchronousIo(reader_thread);
    WaitForSingleObject(reader_thread, 5000);
  }
  DWORD code = 0;
  GetExitCodeProcess(pi.hProcess, &code);
  outcome.exit_code = static_cast<int>(code);
  CloseHandle(pi.hProcess);
  if (reader_thread != nullptr)
    CloseHandle(reader_thread);
  CloseHandle(read_end);
  if (job != nullptr)
    CloseHandle(job);  // KILL_ON_JOB_CLOSE: nothing of the job outlives the run
  if (reader.out != INVALID_HANDLE_VALUE) {
    if (reader.written >= spec.output_cap) {
      const char note[] = "\r\n[crontopus: output truncated at the size cap]\r\n";
      DWORD done = 0;
      WriteFile(reader.out, note, sizeof note - 1, &done, nullptr);
    }
    CloseHandle(reader.out);
  }
  outcome.tail = std::move(reader.tail);
  if (outcome.timed_out)
    outcome.exit_code = 128 + 15;  // as a SIGTERM on Unix: the status is "timeout" either way
  outcome.elapsed = std::chrono::steady_clock::now() - started;
  return outcome;
}

}  // namespace crontopus::core::platform
