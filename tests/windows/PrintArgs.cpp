// Prints its arguments, one per line between [ and ], as the Microsoft C runtime split its
// command line, in UTF-8 with \n line ends: scripts/test-windows runs it as a job's command to
// see what the job's args became after cmd.exe and the C runtime.
#include <fcntl.h>
#include <io.h>
#include <windows.h>

#include <cstdio>
#include <string>

int wmain(int argc, wchar_t** argv) {
  _setmode(_fileno(stdout), _O_BINARY);
  for (int i = 1; i < argc; ++i) {
    const int wide_len = static_cast<int>(wcslen(argv[i]));
    std::string utf8(static_cast<std::size_t>(wide_len) * 4, '\0');
    const int n = WideCharToMultiByte(CP_UTF8, 0, argv[i], wide_len, utf8.data(),
                                      static_cast<int>(utf8.size()), nullptr, nullptr);
    if (wide_len > 0 && n <= 0) {
      std::fprintf(stderr, "print-args: cannot convert argument %d\n", i);
      return 1;
    }
    utf8.resize(static_cast<std::size_t>(n > 0 ? n : 0));
    std::printf("[%s]\n", utf8.c_str());
  }
  return 0;
}
