# The example consumer project (tools/examples/consumer) against the installed Troupe package:
# ctest's `install_consumer` (tests/CMakeLists.txt) runs
#
#   cmake -DBUILD_DIR=<troupe build> -DWORK_DIR=<fresh dir> -DCONSUMER_DIR=<consumer source>
#         -DGENERATOR=<generator> [-DMAKE_PROGRAM=...] -DCXX_COMPILER=<c++> [-DBUILD_TYPE=<type>]
#         [-DLAUNCHER=<ccache>] -P check_consumer.cmake
#
# Steps, each failing the run with its name: (1) install the build into WORK_DIR/prefix;
# (2) the installed CMake files must not name the build or source tree (a relocatable package);
# (3) configure the consumer with CMAKE_PREFIX_PATH=WORK_DIR/prefix, and it must have found the
# package there; (4) build it; (5) run its ctest.
cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR WORK_DIR CONSUMER_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "check_consumer: -D${var}=... is required")
  endif()
endforeach()
get_filename_component(TROUPE_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

# Runs one step; a non-zero exit fails the whole check, naming the step.
function(step name)
  message(STATUS "check_consumer: ${name}: ${ARGN}")
  string(TIMESTAMP start "%s")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  string(TIMESTAMP end "%s")
  math(EXPR seconds "${end} - ${start}")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "check_consumer: step '${name}' failed (${result})")
  endif()
  message(STATUS "check_consumer: ${name}: ok (${seconds} s)")
endfunction()

set(prefix "${WORK_DIR}/prefix")
set(consumer_build "${WORK_DIR}/consumer")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

# The build type (empty: the build had none), for single- and multi-config generators alike.
set(config_args "")
set(ctest_config_args "")
if(BUILD_TYPE)
  set(config_args --config "${BUILD_TYPE}")
  set(ctest_config_args -C "${BUILD_TYPE}")
endif()

step(install ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}" ${config_args})

file(GLOB_RECURSE package_files "${prefix}/*.cmake")
if(NOT package_files)
  message(FATAL_ERROR "check_consumer: step 'relocatable' failed: no CMake files under ${prefix}")
endif()
foreach(file IN LISTS package_files)
  file(READ "${file}" text)
  foreach(tree "${BUILD_DIR}" "${TROUPE_SOURCE_DIR}")
    string(FIND "${text}" "${tree}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "check_consumer: step 'relocatable' failed: ${file} names ${tree}")
    endif()
  endforeach()
endforeach()
message(STATUS "check_consumer: relocatable: ok (no installed CMake file names ${BUILD_DIR} or ${TROUPE_SOURCE_DIR})")

set(configure_args -S "${CONSUMER_DIR}" -B "${consumer_build}" -G "${GENERATOR}"
    "-DCMAKE_PREFIX_PATH=${prefix}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(LAUNCHER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
endif()
step(configure ${CMAKE_COMMAND} ${configure_args})
# The package must be the one just installed (not another one on the system).
file(STRINGS "${consumer_build}/CMakeCache.txt" found REGEX "^troupe_DIR:")
string(FIND "${found}" "troupe_DIR:PATH=${prefix}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "check_consumer: step 'configure' failed: the consumer found troupe at '${found}', "
                      "not under ${prefix}")
endif()

step(build ${CMAKE_COMMAND} --build "${consumer_build}" --parallel 2 ${config_args})
step(test ${CMAKE_CTEST_COMMAND} --test-dir "${consumer_build}" --output-on-failure --no-tests=error ${ctest_config_args})
