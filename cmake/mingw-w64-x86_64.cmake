# CMake toolchain for the Windows x86-64 cross build with Debian's mingw-w64 (posix threads),
# used by scripts/build-windows for the dependencies and for the agent.
#   -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake -DCRONTOPUS_MINGW_PREFIX=<deps prefix>
# Everything is linked statically (libgcc, libstdc++, winpthread and the dependencies), so the
# .exe and .dll files need no MinGW runtime DLL beside them.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_MC_COMPILER x86_64-w64-mingw32-windmc)

list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES CRONTOPUS_MINGW_PREFIX)
if(NOT CRONTOPUS_MINGW_PREFIX AND DEFINED ENV{CRONTOPUS_MINGW_PREFIX})
  set(CRONTOPUS_MINGW_PREFIX "$ENV{CRONTOPUS_MINGW_PREFIX}")
endif()
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32 ${CRONTOPUS_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
if(CRONTOPUS_MINGW_PREFIX)
  # pkg-config sees only the dependency prefix, never the build machine's .pc files.
  set(ENV{PKG_CONFIG_LIBDIR} "${CRONTOPUS_MINGW_PREFIX}/lib/pkgconfig")
  set(ENV{PKG_CONFIG_PATH} "")
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "")
endif()

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
