#include "RunWrapper.h"
#include "platform/Platform.h"

// crontopus-run: the lean `run` wrapper scheduler entries call (see RunWrapper.h).
int main(int argc, char** argv) {
  crontopus::core::platform::initializeProcess();
  return crontopus::core::runWrapperMain(argc, argv);
}
