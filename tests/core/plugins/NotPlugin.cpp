// An ordinary shared library that happens to sit in the plugins directory.
extern "C" __attribute__((visibility("default"))) int not_a_plugin() {
  return 42;
}
