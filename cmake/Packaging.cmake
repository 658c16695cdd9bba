# The .deb (cpack -G DEB, or `cmake --build <build> --target package`): one package,
# crontopus-agent, prefix /usr, whatever CMAKE_INSTALL_PREFIX the build was configured with. It
# holds the agent, the SDK library, the plugins, the SDK headers and CMake package, the systemd
# units and the example config (etc/CMakeLists.txt: component "system"); the copies in
# share/crontopus (component "templates") are for plain installs only.
# Dependencies come from dpkg-shlibdeps (package dpkg-dev), so they are exactly the libraries
# the binaries link: libpoco*80, libyaml-cpp0.7, libgit2-1.5, libyaml-0-2, libc6, libstdc++6...
set(CPACK_PACKAGE_NAME crontopus-agent)
set(CPACK_PACKAGE_VENDOR "Crontopus")
set(CPACK_PACKAGE_CONTACT "Crontopus maintainers <maintainers@crontopus.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "keeps the host's cron or systemd timers in step with job manifests in Git")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CRONTOPUS_DEB_PREFIX})
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Plugins link the SDK library that ships in this same package.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/lib)
# cron is what the default backend drives; systemd for the unit and the systemd-timer backend.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cron | cron-daemon, systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# dpkg keeps an operator's edits to files under /etc across upgrades only if they are conffiles.
file(WRITE ${CMAKE_BINARY_DIR}/deb-control/conffiles "/etc/crontopus/config.example.yaml\n")
# postinst creates the system user the unit runs as (adduser) and runs ldconfig for the SDK library.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/deb-control/conffiles
  ${CMAKE_CURRENT_LIST_DIR}/deb/postinst ${CMAKE_CURRENT_LIST_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
# Components only to choose what goes in; the package is still one .deb.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified system)
include(CPack)
