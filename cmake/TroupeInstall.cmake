# Troupe as a CMake package (docs/install.md): install rules, the export set, the `troupe::`
# targets, and troupeConfig.cmake.
#
# Every library a user's program can reach is added with
#
#   troupe_install_library(<target> [NAME <name>] [DEPENDS <package>...])
#
# which (1) turns the target's source-tree include directory (${TROUPE_ROOT}) into
# $<BUILD_INTERFACE:${TROUPE_ROOT}> plus $<INSTALL_INTERFACE:include/troupe>, (2) adds it to the
# `troupe` export set (installed as troupe::<name>, or troupe::<target> without NAME), (3) makes
# the ALIAS troupe::<name> in the build tree, so a consumer's CMakeLists.txt is the same with
# find_package and with add_subdirectory/FetchContent, and (4) records the packages its public
# interface needs beyond the ones every Troupe library needs (troupeConfig.cmake calls
# find_dependency for them). For example, testing/CMakeLists.txt:
#
#   troupe_install_library(troupe_testing NAME testing DEPENDS GTest rapidcheck)
#
# Headers are installed by directory (troupe_install_package below): every *.h under the
# TROUPE_HEADER_DIRS, keeping the tree, so `#include "runtime/troupe.h"` works unchanged with the
# include directory <prefix>/include/troupe. Troupe's own test helpers (*_test_support.h) stay out;
# testing/sim_test.h is public (TROUPE_SIM_TEST).
#
# Nothing here changes how Troupe itself compiles: the options of the top-level CMakeLists.txt
# (sanitizers, warnings, the ccache launcher) are directory-scoped and never reach the exported
# interface, which carries only include directories, link dependencies and cxx_std_20.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TROUPE_INSTALL_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/troupe")
set(TROUPE_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/troupe")
# The directories whose headers are installed (those that exist: testing/ may not yet).
set(TROUPE_HEADER_DIRS runtime sim faults scenarios testing tools/troupe)

function(troupe_install_library target)
  cmake_parse_arguments(ARG "" "NAME" "DEPENDS" ${ARGN})
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    set(scope INTERFACE)
  else()
    set(scope PUBLIC)
  endif()

  # The source tree's include directory only in the build tree; include/troupe once installed.
  get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  if(dirs)
    set(wrapped "")
    foreach(dir IN LISTS dirs)
      if(dir STREQUAL TROUPE_ROOT)
        list(APPEND wrapped "$<BUILD_INTERFACE:${TROUPE_ROOT}>")
      else()
        list(APPEND wrapped "${dir}")
      endif()
    endforeach()
    set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${wrapped}")
  endif()
  target_include_directories(${target} ${scope} $<INSTALL_INTERFACE:${TROUPE_INSTALL_INCLUDEDIR}>)
  # The headers are C++20: a consumer that does not set CMAKE_CXX_STANDARD still gets it.
  target_compile_features(${target} ${scope} cxx_std_20)

  if(ARG_NAME)
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${ARG_NAME})
    add_library(troupe::${ARG_NAME} ALIAS ${target})
  else()
    add_library(troupe::${target} ALIAS ${target})
  endif()
  set_property(GLOBAL APPEND PROPERTY TROUPE_EXPORTED_TARGETS ${target})
  if(ARG_DEPENDS)
    set_property(GLOBAL APPEND PROPERTY TROUPE_EXTRA_DEPENDENCIES ${ARG_DEPENDS})
  endif()
endfunction()

# The install rules: libraries, headers, the targets file, troupeConfig.cmake and its version
# file. Called once, at the end of the top-level CMakeLists.txt (after every
# troupe_install_library), and only when TROUPE_INSTALL is on.
function(troupe_install_package)
  get_property(targets GLOBAL PROPERTY TROUPE_EXPORTED_TARGETS)
  install(TARGETS ${targets} EXPORT troupe
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  # File by file (install(DIRECTORY) would also create the header-less directories).
  set(globs "")
  foreach(dir IN LISTS TROUPE_HEADER_DIRS)
    list(APPEND globs ${TROUPE_ROOT}/${dir}/*.h)
  endforeach()
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS RELATIVE ${TROUPE_ROOT} ${globs})
  list(FILTER headers EXCLUDE REGEX "_test_support\\.h$")
  foreach(header IN LISTS headers)
    get_filename_component(subdir ${header} DIRECTORY)
    install(FILES ${TROUPE_ROOT}/${header} DESTINATION ${TROUPE_INSTALL_INCLUDEDIR}/${subdir})
  endforeach()
  install(EXPORT troupe NAMESPACE troupe:: FILE troupeTargets.cmake DESTINATION ${TROUPE_INSTALL_CMAKEDIR})

  get_property(TROUPE_EXTRA_DEPENDENCIES GLOBAL PROPERTY TROUPE_EXTRA_DEPENDENCIES)
  list(REMOVE_DUPLICATES TROUPE_EXTRA_DEPENDENCIES)
  configure_package_config_file(${TROUPE_ROOT}/cmake/troupeConfig.cmake.in
                                ${CMAKE_BINARY_DIR}/troupeConfig.cmake
                                INSTALL_DESTINATION ${TROUPE_INSTALL_CMAKEDIR})
  # 0.x: every minor release may change the API (semantic versioning's rule for 0.y.z), so
  # find_package(troupe 0.1) accepts 0.1.z only. SameMajorVersion would accept 0.2 for it.
  write_basic_package_version_file(${CMAKE_BINARY_DIR}/troupeConfigVersion.cmake
                                   VERSION ${troupe_VERSION} COMPATIBILITY SameMinorVersion)
  install(FILES ${CMAKE_BINARY_DIR}/troupeConfig.cmake ${CMAKE_BINARY_DIR}/troupeConfigVersion.cmake
          DESTINATION ${TROUPE_INSTALL_CMAKEDIR})
endfunction()
