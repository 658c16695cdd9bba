#include "Agent.h"
#include "platform/Platform.h"

int main(int argc, char** argv) {
  crontopus::core::platform::initializeProcess();
  return crontopus::core::Agent::runMain(argc, argv);
}
