#include "RunWrapper.h"

// crontopus-run: the lean `run` wrapper scheduler entries call (see RunWrapper.h).
int main(int argc, char** argv) {
  return crontopus::core::runWrapperMain(argc, argv);
}
