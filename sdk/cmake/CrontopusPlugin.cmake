# crontopus_add_plugin(<target> SOURCES <src>... [LINK <lib>...])
#
# Builds a loadable crontopus-agent plugin named crontopus-<target>.so (.dll on Windows). Used by
# the in-tree plugins and, through find_package(CrontopusSDK), by third-party ones. Install it
# into the agent's plugins directory (<prefix>/lib/crontopus/plugins) or point --plugins-dir at
# its folder.
function(crontopus_add_plugin target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK" ${ARGN})
  add_library(${target} MODULE ${ARG_SOURCES})
  if(TARGET crontopus_sdk)
    # In tree: part of the agent's own install.
    target_link_libraries(${target} PRIVATE crontopus_sdk)
    install(TARGETS ${target} LIBRARY DESTINATION lib/crontopus/plugins)
  else()
    target_link_libraries(${target} PRIVATE crontopus::sdk)
  endif()
  target_link_libraries(${target} PRIVATE Poco::Foundation ${ARG_LINK})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "crontopus-${target}"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/lib/crontopus/plugins"
    BUILD_RPATH "$ORIGIN/../.."
    INSTALL_RPATH "$ORIGIN/../..")
  if(DEFINED CRONTOPUS_WARNINGS)
    target_compile_options(${target} PRIVATE ${CRONTOPUS_WARNINGS})
  endif()
endfunction()
