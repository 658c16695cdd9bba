#include "Agent.h"

int main(int argc, char** argv) {
  return crontopus::core::Agent::runMain(argc, argv);
}
