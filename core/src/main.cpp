#include <iostream>
#include "Version.h"
int main() { std::cout << crontopus::core::version() << "\n"; }
