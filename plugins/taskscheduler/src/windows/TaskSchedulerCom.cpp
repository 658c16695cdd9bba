// The Task Scheduler 2.0 COM calls (taskschd.h), with one RAII owner per interface pointer, BSTR
// and VARIANT, and every HRESULT checked and turned into a ComStatus with Windows' own text.
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
// windows.h first: the COM headers below need its types.
#include <oleauto.h>
#include <taskschd.h>

#include <cstdio>
#include <utility>

#include "TaskSchedulerCom.h"

namespace crontopus::plugins::taskscheduler::com {
namespace {

// Spelled out rather than taken from libtaskschd/libuuid, whose presence varies by toolchain.
const CLSID kClsidTaskScheduler = {
    0x0f87369f, 0xa4e5, 0x4cfc, {0xbd, 0x3e, 0x73, 0xe6, 0x15, 0x45, 0x72, 0xdd}};
const IID kIidTaskService = {
    0x2faba4c7, 0x4da9, 0x4013, {0x96, 0x97, 0x20, 0xcc, 0x3f, 0xd4, 0x0f, 0x85}};

constexpr HRESULT kNotFound = HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND);
constexpr HRESULT kPathNotFound = HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND);
constexpr HRESULT kAlreadyExists = HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS);
constexpr HRESULT kNotEmpty = HRESULT_FROM_WIN32(ERROR_DIR_NOT_EMPTY);

template <class T>
class ComPtr {
 public:
  ComPtr() = default;
  ~ComPtr() { reset(); }
  ComPtr(const ComPtr&) = delete;
  ComPtr& operator=(const ComPtr&) = delete;
  T** out() {
    reset();
    return &p_;
  }
  T* operator->() const { return p_; }
  T* get() const { return p_; }
  void reset() {
    if (p_ != nullptr) {
      p_->Release();
      p_ = nullptr;
    }
  }

 private:
  T* p_ = nullptr;
};

std::wstring widen(const std::string& s) {
  if (s.empty()) {
    return {};
  }
  int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring out(static_cast<std::size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), out.data(), n);
  return out;
}

std::string narrow(const wchar_t* s, std::size_t length) {
  if (s == nullptr || length == 0) {
    return {};
  }
  int n =
      WideCharToMultiByte(CP_UTF8, 0, s, static_cast<int>(length), nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<std::size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, s, static_cast<int>(length), out.data(), n, nullptr, nullptr);
  return out;
}

// An input BSTR.
class Bstr {
 public:
  explicit Bstr(const std::string& s) {
    std::wstring w = widen(s);
    b_ = SysAllocStringLen(w.data(), static_cast<UINT>(w.size()));
  }
  explicit Bstr(const std::wstring& w)
      : b_(SysAllocStringLen(w.data(), static_cast<UINT>(w.size()))) {}
  ~Bstr() { SysFreeString(b_); }
  Bstr(const Bstr&) = delete;
  Bstr& operator=(const Bstr&) = delete;
  operator BSTR() const { return b_; }

 private:
  BSTR b_ = nullptr;
};

// An output BSTR.
class BstrOut {
 public:
  BstrOut() = default;
  ~BstrOut() { SysFreeString(b_); }
  BstrOut(const BstrOut&) = delete;
  BstrOut& operator=(const BstrOut&) = delete;
  BSTR* out() {
    SysFreeString(b_);
    b_ = nullptr;
    return &b_;
  }
  std::string str() const { return narrow(b_, b_ == nullptr ? 0 : SysStringLen(b_)); }

 private:
  BSTR b_ = nullptr;
};

class Variant {
 public:
  Variant() { VariantInit(&v_); }
  explicit Variant(long value) {
    VariantInit(&v_);
    v_.vt = VT_I4;
    v_.lVal = value;
  }
  explicit Variant(const std::wstring& text) {
    VariantInit(&v_);
    v_.vt = VT_BSTR;
    v_.bstrVal = SysAllocStringLen(text.data(), static_cast<UINT>(text.size()));
  }
  ~Variant() { VariantClear(&v_); }
  Variant(const Variant&) = delete;
  Variant& operator=(const Variant&) = delete;
  const VARIANT& get() const { return v_; }

 private:
  VARIANT v_;
};

ComStatus failure(HRESULT hr, const std::string& what) {
  ComStatus s;
  s.ok = false;
  s.hresult = static_cast<long>(hr);
  s.message = what + ": " + describeHresult(static_cast<long>(hr));
  return s;
}

bool isMissing(HRESULT hr) {
  return hr == kNotFound || hr == kPathNotFound;
}

// "\a\b\c" -> ("\a\b", "c"); "\c" -> ("\", "c").
std::pair<std::string, std::string> splitPath(const std::string& path) {
  std::size_t slash = path.find_last_of('\\');
  if (slash == std::string::npos) {
    return {"\\", path};
  }
  return {slash == 0 ? "\\" : path.substr(0, slash), path.substr(slash + 1)};
}

// Task Scheduler wants UTF-16 text that says so.
std::wstring asUtf16Document(const std::string& xml) {
  std::string body = xml;
  std::size_t start = body.find_first_not_of(" \t\r\n");
  if (start != std::string::npos && body.compare(start, 5, "<?xml") == 0) {
    std::size_t end = body.find("?>", start);
    if (end != std::string::npos) {
      body.erase(0, end + 2);
    }
  }
  return L"<?xml version=\"1.0\" encoding=\"UTF-16\"?>" + widen(body);
}

// Texts for the codes Task Scheduler returns most, for when the system has none (wine's
// message tables lack the SCHED_E_* ones; mingw's headers stop at 0x80041315).
std::string knownText(long hresult) {
  switch (static_cast<unsigned long>(hresult)) {
    case 0x80041315UL:
      return "The Task Scheduler service is not running. (SCHED_E_SERVICE_NOT_RUNNING)";
    case 0x80041316UL:
      return "The task XML contains an unexpected node. (SCHED_E_UNEXPECTEDNODE)";
    case 0x80041317UL:
      return "The task XML contains an element or attribute from an unexpected namespace. "
             "(SCHED_E_NAMESPACE)";
    case 0x80041318UL:
      return "The task XML contains a value which is incorrectly formatted or out of range. "
             "(SCHED_E_INVALIDVALUE)";
    case 0x80041319UL:
      return "The task XML is missing a required element or attribute. (SCHED_E_MISSINGNODE)";
    case 0x8004131AUL:
      return "The task XML is malformed. (SCHED_E_MALFORMEDXML)";
    case 0x80070002UL:
      return "The system cannot find the file specified.";
    case 0x80070005UL:
      return "Access is denied.";
    case 0x80004001UL:
      return "Not implemented.";
    default:
      return "no description available";
  }
}

}  // namespace

std::string describeHresult(long hresult) {
  char code[16];
  std::snprintf(code, sizeof code, "0x%08lX", static_cast<unsigned long>(hresult));
  wchar_t* buffer = nullptr;
  const DWORD flags =
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_IGNORE_INSERTS | FORMAT_MESSAGE_FROM_SYSTEM;
  DWORD n = FormatMessageW(flags, nullptr, static_cast<DWORD>(hresult), 0,
                           reinterpret_cast<LPWSTR>(&buffer), 0, nullptr);
  if (n == 0) {
    // SCHED_E_* texts live in taskschd.dll's message table.
    HMODULE module = GetModuleHandleW(L"taskschd.dll");
    if (module != nullptr) {
      n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_IGNORE_INSERTS |
                             FORMAT_MESSAGE_FROM_HMODULE,
                         module, static_cast<DWORD>(hresult), 0, reinterpret_cast<LPWSTR>(&buffer),
                         0, nullptr);
    }
  }
  std::string text;
  if (n != 0 && buffer != nullptr) {
    text = narrow(buffer, n);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
      text.pop_back();
    }
  }
  if (buffer != nullptr) {
    LocalFree(buffer);
  }
  if (text.empty()) {
    text = knownText(hresult);
  }
  return std::string(code) + ": " + text;
}

struct TaskSchedulerCom::State {
  bool uninitialize = false;
  ComPtr<ITaskService> service;
  bool connected = false;

  ComStatus folder(const std::string& path, ComPtr<ITaskFolder>& out) {
    HRESULT hr = service->GetFolder(Bstr(path), out.out());
    if (FAILED(hr)) {
      return failure(hr, "GetFolder " + path);
    }
    return {};
  }

  ComStatus task(const std::string& path, ComPtr<IRegisteredTask>& out) {
    auto [parent, name] = splitPath(path);
    ComPtr<ITaskFolder> f;
    ComStatus s = folder(parent, f);
    if (!s) {
      s.message = "GetTask " + path + ": " + describeHresult(s.hresult);
      return s;
    }
    HRESULT hr = f->GetTask(Bstr(name), out.out());
    if (FAILED(hr)) {
      return failure(hr, "GetTask " + path);
    }
    return {};
  }

  static ComStatus describe(IRegisteredTask* t, ComTask& entry) {
    HRESULT hr;
    BstrOut path, xml;
    VARIANT_BOOL enabled = VARIANT_TRUE;
    if (FAILED(hr = t->get_Path(path.out()))) {
      return failure(hr, "IRegisteredTask::get_Path");
    }
    entry.path = path.str();
    if (FAILED(hr = t->get_Xml(xml.out()))) {
      return failure(hr, "get_Xml " + entry.path);
    }
    if (FAILED(hr = t->get_Enabled(&enabled))) {
      return failure(hr, "get_Enabled " + entry.path);
    }
    entry.xml = xml.str();
    entry.enabled = enabled != VARIANT_FALSE;
    return {};
  }

  // wine (8) implements no IRegisteredTaskCollection method (E_NOTIMPL), but keeps each task as
  // a file named after it in <system directory>\Tasks\<folder>: take the names from there and
  // read each task through the scheduler by its path. Windows enumerates and never gets here.
  static ComStatus walkTaskFiles(ITaskFolder* f, std::vector<ComTask>& out) {
    BstrOut folder_path;
    HRESULT hr = f->get_Path(folder_path.out());
    if (FAILED(hr)) {
      return failure(hr, "ITaskFolder::get_Path");
    }
    wchar_t system_dir[MAX_PATH];
    UINT n = GetSystemDirectoryW(system_dir, MAX_PATH);
    if (n == 0 || n >= MAX_PATH) {
      return failure(HRESULT_FROM_WIN32(GetLastError()), "GetSystemDirectory");
    }
    std::wstring dir = std::wstring(system_dir) + L"\\Tasks" + widen(folder_path.str());
    if (dir.back() != L'\\') {
      dir += L'\\';
    }
    WIN32_FIND_DATAW found;
    HANDLE search = FindFirstFileW((dir + L"*").c_str(), &found);
    if (search == INVALID_HANDLE_VALUE) {
      const DWORD error = GetLastError();
      if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND) {
        return {};
      }
      return failure(HRESULT_FROM_WIN32(error),
                     "list the task files of " + narrow(dir.c_str(), dir.size()));
    }
    ComStatus status;
    do {
      if ((found.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
        continue;
      }
      ComPtr<IRegisteredTask> t;
      hr = f->GetTask(Bstr(std::wstring(found.cFileName)), t.out());
      if (isMissing(hr)) {
        continue;  // a file that is not a task (or was deleted meanwhile)
      }
      if (FAILED(hr)) {
        status = failure(hr, "GetTask " + narrow(found.cFileName, wcslen(found.cFileName)));
        break;
      }
      ComTask entry;
      status = describe(t.get(), entry);
      if (!status) {
        break;
      }
      out.push_back(std::move(entry));
    } while (FindNextFileW(search, &found));
    FindClose(search);
    return status;
  }

  ComStatus walk(ITaskFolder* f, std::vector<ComTask>& out) {
    ComPtr<IRegisteredTaskCollection> tasks;
    HRESULT hr = f->GetTasks(TASK_ENUM_HIDDEN, tasks.out());
    if (FAILED(hr)) {
      return failure(hr, "GetTasks");
    }
    LONG count = 0;
    hr = tasks->get_Count(&count);
    if (hr == E_NOTIMPL) {
      if (ComStatus s = walkTaskFiles(f, out); !s) {
        return s;
      }
      count = 0;
    } else if (FAILED(hr)) {
      return failure(hr, "IRegisteredTaskCollection::get_Count");
    }
    for (LONG i = 1; i <= count; ++i) {
      ComPtr<IRegisteredTask> t;
      Variant index(static_cast<long>(i));
      if (FAILED(hr = tasks->get_Item(index.get(), t.out()))) {
        return failure(hr, "IRegisteredTaskCollection::get_Item");
      }
      ComTask entry;
      if (ComStatus s = describe(t.get(), entry); !s) {
        return s;
      }
      out.push_back(std::move(entry));
    }
    ComPtr<ITaskFolderCollection> folders;
    if (FAILED(hr = f->GetFolders(0, folders.out()))) {
      return failure(hr, "GetFolders");
    }
    if (FAILED(hr = folders->get_Count(&count))) {
      return failure(hr, "ITaskFolderCollection::get_Count");
    }
    for (LONG i = 1; i <= count; ++i) {
      ComPtr<ITaskFolder> sub;
      Variant index(static_cast<long>(i));
      if (FAILED(hr = folders->get_Item(index.get(), sub.out()))) {
        return failure(hr, "ITaskFolderCollection::get_Item");
      }
      ComStatus s = walk(sub.get(), out);
      if (!s) {
        return s;
      }
    }
    return {};
  }
};

TaskSchedulerCom::TaskSchedulerCom() : state_(new State) {
  HRESULT hr = CoInitializeEx(nullptr, COINIT_MULTITHREADED);
  // S_FALSE: already initialised on this thread, still to be balanced. RPC_E_CHANGED_MODE: the
  // thread is single-threaded already, which works as well and is not ours to undo.
  state_->uninitialize = SUCCEEDED(hr);
}

TaskSchedulerCom::~TaskSchedulerCom() {
  bool uninitialize = state_->uninitialize;
  delete state_;  // releases the service before COM goes away
  if (uninitialize) {
    CoUninitialize();
  }
}

ComStatus TaskSchedulerCom::connect() {
  if (state_->connected) {
    return {};
  }
  HRESULT hr = CoCreateInstance(kClsidTaskScheduler, nullptr, CLSCTX_INPROC_SERVER, kIidTaskService,
                                reinterpret_cast<void**>(state_->service.out()));
  if (FAILED(hr)) {
    return failure(hr, "CoCreateInstance(TaskScheduler)");
  }
  Variant none_server, none_user, none_domain, none_password;
  hr = state_->service->Connect(none_server.get(), none_user.get(), none_domain.get(),
                                none_password.get());
  if (FAILED(hr)) {
    return failure(hr, "ITaskService::Connect");
  }
  state_->connected = true;
  return {};
}

ComStatus TaskSchedulerCom::ensureFolder(const std::string& folder_path) {
  ComStatus s = connect();
  if (!s) {
    return s;
  }
  std::string current = "\\";
  std::size_t pos = 1;
  while (pos <= folder_path.size()) {
    std::size_t next = folder_path.find('\\', pos);
    std::string name = folder_path.substr(pos, next == std::string::npos ? next : next - pos);
    pos = next == std::string::npos ? folder_path.size() + 1 : next + 1;
    if (name.empty()) {
      continue;
    }
    std::string child = current == "\\" ? "\\" + name : current + "\\" + name;
    ComPtr<ITaskFolder> existing;
    HRESULT hr = state_->service->GetFolder(Bstr(child), existing.out());
    if (FAILED(hr)) {
      if (!isMissing(hr)) {
        return failure(hr, "GetFolder " + child);
      }
      ComPtr<ITaskFolder> parent;
      if (!(s = state_->folder(current, parent))) {
        return s;
      }
      ComPtr<ITaskFolder> created;
      Variant no_sddl;
      hr = parent->CreateFolder(Bstr(name), no_sddl.get(), created.out());
      if (FAILED(hr) && hr != kAlreadyExists) {
        return failure(hr, "CreateFolder " + child);
      }
    }
    current = child;
  }
  return {};
}

ComStatus TaskSchedulerCom::registerTask(const std::string& task_path, const std::string& xml,
                                         Logon logon) {
  auto [parent, name] = splitPath(task_path);
  ComStatus s = ensureFolder(parent);
  if (!s) {
    return s;
  }
  ComPtr<ITaskFolder> folder;
  if (!(s = state_->folder(parent, folder))) {
    return s;
  }
  Bstr text(asUtf16Document(xml));
  Bstr task_name(name);
  Variant user = logon == Logon::kSystem ? Variant(std::wstring(L"SYSTEM")) : Variant();
  Variant password, sddl;
  const TASK_LOGON_TYPE logon_type =
      logon == Logon::kSystem ? TASK_LOGON_SERVICE_ACCOUNT : TASK_LOGON_INTERACTIVE_TOKEN;
  for (LONG flags :
       {static_cast<LONG>(TASK_VALIDATE_ONLY), static_cast<LONG>(TASK_CREATE_OR_UPDATE)}) {
    ComPtr<IRegisteredTask> registered;
    HRESULT hr = folder->RegisterTask(task_name, text, flags, user.get(), password.get(),
                                      logon_type, sddl.get(), registered.out());
    if (FAILED(hr)) {
      return failure(hr, std::string(flags == TASK_VALIDATE_ONLY ? "RegisterTask(validate) "
                                                                 : "RegisterTask ") +
                             task_path);
    }
  }
  return {};
}

ComStatus TaskSchedulerCom::readTask(const std::string& task_path, ComTask& out) {
  ComStatus s = connect();
  if (!s) {
    return s;
  }
  ComPtr<IRegisteredTask> task;
  if (!(s = state_->task(task_path, task))) {
    return s;
  }
  BstrOut xml;
  VARIANT_BOOL enabled = VARIANT_TRUE;
  HRESULT hr = task->get_Xml(xml.out());
  if (FAILED(hr)) {
    return failure(hr, "get_Xml " + task_path);
  }
  if (FAILED(hr = task->get_Enabled(&enabled))) {
    return failure(hr, "get_Enabled " + task_path);
  }
  out.path = task_path;
  out.xml = xml.str();
  out.enabled = enabled != VARIANT_FALSE;
  return {};
}

ComStatus TaskSchedulerCom::listTasks(const std::string& folder_path, std::vector<ComTask>& out) {
  out.clear();
  ComStatus s = connect();
  if (!s) {
    return s;
  }
  ComPtr<ITaskFolder> folder;
  HRESULT hr = state_->service->GetFolder(Bstr(folder_path), folder.out());
  if (isMissing(hr)) {
    return {};
  }
  if (FAILED(hr)) {
    return failure(hr, "GetFolder " + folder_path);
  }
  return state_->walk(folder.get(), out);
}

ComStatus TaskSchedulerCom::folderExists(const std::string& folder_path, bool& exists) {
  exists = false;
  ComStatus s = connect();
  if (!s) {
    return s;
  }
  ComPtr<ITaskFolder> folder;
  HRESULT hr = state_->service->GetFolder(Bstr(folder_path), folder.out());
  if (isMissing(hr)) {
    return {};
  }
  if (FAILED(hr)) {
    return failure(hr, "GetFolder " + folder_path);
  }
  exists = true;
  return {};
}

ComStatus TaskSchedulerCom::setEnabled(const std::string& task_path, bool enabled) {
  ComStatus s = connect();
  if (!s) {
    return s;
  }
  ComPtr<IRegisteredTask> task;
  if (!(s = state_->task(task_path, task))) {
    return s;
  }
  HRESULT hr = task->put_Enabled(enabled ? VARIANT_TRUE : VARIANT_FALSE);
  if (FAILED(hr)) {
    return failure(hr, std::string(enabled ? "enable " : "disable ") + task_path);
  }
  return {};
}

ComStatus TaskSchedulerCom::deleteTask(const std::string& task_path) {
  ComStatus s = connect();
  if (!s) {
    return s;
  }
  auto [parent, name] = splitPath(task_path);
  ComPtr<ITaskFolder> folder;
  if (!(s = state_->folder(parent, folder))) {
    return s;
  }
  HRESULT hr = folder->DeleteTask(Bstr(name), 0);
  if (FAILED(hr)) {
    return failure(hr, "DeleteTask " + task_path);
  }
  return {};
}

ComStatus TaskSchedulerCom::removeEmptyFolders(const std::string& folder_path,
                                               const std::string& stop_at) {
  ComStatus s = connect();
  if (!s) {
    return s;
  }
  std::string path = folder_path;
  while (path != "\\" && !path.empty()) {
    ComPtr<ITaskFolder> folder;
    HRESULT hr = state_->service->GetFolder(Bstr(path), folder.out());
    if (FAILED(hr) && !isMissing(hr)) {
      return failure(hr, "GetFolder " + path);
    }
    auto [parent, name] = splitPath(path);
    if (SUCCEEDED(hr)) {
      ComPtr<IRegisteredTaskCollection> tasks;
      ComPtr<ITaskFolderCollection> folders;
      LONG task_count = 0, folder_count = 0;
      if (FAILED(hr = folder->GetTasks(TASK_ENUM_HIDDEN, tasks.out())) ||
          FAILED(hr = tasks->get_Count(&task_count)) ||
          FAILED(hr = folder->GetFolders(0, folders.out())) ||
          FAILED(hr = folders->get_Count(&folder_count))) {
        // Counting is not implemented everywhere (wine); DeleteFolder itself refuses a folder
        // that is not empty, so go on and let it decide.
        if (hr != E_NOTIMPL) {
          return failure(hr, "listing " + path);
        }
      }
      if (task_count > 0 || folder_count > 0) {
        return {};
      }
      ComPtr<ITaskFolder> parent_folder;
      if (!(s = state_->folder(parent, parent_folder))) {
        return s;
      }
      hr = parent_folder->DeleteFolder(Bstr(name), 0);
      if (hr == kNotEmpty) {
        return {};
      }
      if (FAILED(hr) && !isMissing(hr)) {
        return failure(hr, "DeleteFolder " + path);
      }
    }
    if (path == stop_at) {
      break;
    }
    path = parent;
  }
  return {};
}

}  // namespace crontopus::plugins::taskscheduler::com
