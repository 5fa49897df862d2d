# SPDX-License-Identifier: MIT
#
# Driven by ctest (tests/install/CMakeLists.txt) as `cmake -D... -P run.cmake`:
#   1. cmake --install <build> --prefix <work>/prefix
#   2. configure tests/install/consumer with -DCMAKE_PREFIX_PATH=<work>/prefix
#      and check that find_package found kdpc there, not elsewhere;
#   3. build it and run both programs (kdpc::kdpc and kdpc::wdm);
#   4. if pkg-config exists: build and run the native program from kdpc.pc.
# Any failure ends the script with FATAL_ERROR, which fails the test.

cmake_minimum_required(VERSION 3.25)

foreach(_v KDPC_BUILD_DIR KDPC_WORK_DIR KDPC_CONSUMER_DIR KDPC_GENERATOR
           KDPC_C_COMPILER KDPC_LIBDIR KDPC_VERSION)
  if(NOT DEFINED ${_v} OR "${${_v}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: ${_v} is not set")
  endif()
endforeach()

set(_prefix "${KDPC_WORK_DIR}/prefix")
set(_build "${KDPC_WORK_DIR}/consumer-build")

# run(<step> <command>...): echo the command, run it, stop on failure.
function(run step)
  string(JOIN " " _cmdline ${ARGN})
  message(STATUS "[${step}] ${_cmdline}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "[${step}] failed (${_rc}): ${_cmdline}")
  endif()
endfunction()

file(REMOVE_RECURSE "${KDPC_WORK_DIR}")
file(MAKE_DIRECTORY "${KDPC_WORK_DIR}")

set(_config_args)
if(NOT "${KDPC_CONFIG}" STREQUAL "")
  set(_config_args --config "${KDPC_CONFIG}")
endif()

# 1. install
run(install "${CMAKE_COMMAND}" --install "${KDPC_BUILD_DIR}" --prefix "${_prefix}"
    ${_config_args})
foreach(_f
    "include/kdpc/version.h"
    "include/kdpc/export.h"
    "include/kdpc/compat/wdm.h"
    "include/kdpc/compat/ntddk.h"
    "${KDPC_LIBDIR}/cmake/kdpc/kdpcConfig.cmake"
    "${KDPC_LIBDIR}/cmake/kdpc/kdpcConfigVersion.cmake"
    "${KDPC_LIBDIR}/cmake/kdpc/kdpcTargets.cmake"
    "${KDPC_LIBDIR}/pkgconfig/kdpc.pc")
  if(NOT EXISTS "${_prefix}/${_f}")
    message(FATAL_ERROR "[install] missing ${_prefix}/${_f}")
  endif()
endforeach()

# The kdpc-sim command, when the examples were built: installed, and it runs from the prefix.
if(KDPC_EXPECT_SIM)
  set(_sim "${_prefix}/${KDPC_BINDIR}/kdpc-sim")
  if(NOT EXISTS "${_sim}")
    message(FATAL_ERROR "[install] missing ${_sim}")
  endif()
  execute_process(COMMAND "${_sim}" --version RESULT_VARIABLE _rc OUTPUT_VARIABLE _out
                  ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0 OR NOT _out MATCHES "^kdpc-sim ${KDPC_VERSION}")
    message(FATAL_ERROR "[install] ${_sim} --version: exit ${_rc}: ${_out}${_err}")
  endif()
endif()

# 2. configure the consumer against the prefix only
set(_cache_args
  "-DCMAKE_PREFIX_PATH=${_prefix}"
  "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"
  "-DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF"
  "-DCMAKE_C_COMPILER=${KDPC_C_COMPILER}"
  "-DCMAKE_C_FLAGS=${KDPC_C_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${KDPC_EXE_LINKER_FLAGS}"
  "-DKDPC_EXPECTED_VERSION=${KDPC_VERSION}")
if(NOT "${KDPC_CONFIG}" STREQUAL "")
  list(APPEND _cache_args "-DCMAKE_BUILD_TYPE=${KDPC_CONFIG}")
endif()
run(configure "${CMAKE_COMMAND}" -S "${KDPC_CONSUMER_DIR}" -B "${_build}"
    -G "${KDPC_GENERATOR}" ${_cache_args})

file(STRINGS "${_build}/CMakeCache.txt" _kdpc_dir REGEX "^kdpc_DIR:")
string(REGEX REPLACE "^kdpc_DIR:[A-Z]+=" "" _kdpc_dir "${_kdpc_dir}")
file(REAL_PATH "${_prefix}" _real_prefix)
file(REAL_PATH "${_kdpc_dir}" _real_kdpc_dir)
string(FIND "${_real_kdpc_dir}/" "${_real_prefix}/" _pos)
if(NOT _pos EQUAL 0)
  message(FATAL_ERROR "[configure] kdpc was found in '${_kdpc_dir}', not under '${_prefix}'")
endif()

# 3. build and run
run(build "${CMAKE_COMMAND}" --build "${_build}" ${_config_args})
foreach(_exe consumer consumer_wdm)
  set(_path "${_build}/${_exe}")
  if(NOT EXISTS "${_path}" AND NOT "${KDPC_CONFIG}" STREQUAL "")
    set(_path "${_build}/${KDPC_CONFIG}/${_exe}")
  endif()
  run(run "${_path}")
endforeach()

# 4. pkg-config
find_program(_pkg_config NAMES pkg-config pkgconf)
if(NOT _pkg_config)
  message(STATUS "[pkg-config] not found; skipped")
  return()
endif()
set(ENV{PKG_CONFIG_PATH} "${_prefix}/${KDPC_LIBDIR}/pkgconfig")
execute_process(COMMAND "${_pkg_config}" --modversion kdpc
  OUTPUT_VARIABLE _pc_version OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0 OR NOT _pc_version STREQUAL KDPC_VERSION)
  message(FATAL_ERROR "[pkg-config] kdpc.pc: version '${_pc_version}', want '${KDPC_VERSION}'")
endif()
execute_process(COMMAND "${_pkg_config}" --static --cflags --libs kdpc
  OUTPUT_VARIABLE _pc_flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "[pkg-config] pkg-config --cflags --libs kdpc failed")
endif()
separate_arguments(_pc_flags UNIX_COMMAND "${_pc_flags}")
separate_arguments(_cflags UNIX_COMMAND "${KDPC_C_FLAGS} ${KDPC_EXE_LINKER_FLAGS}")
set(_pc_exe "${KDPC_WORK_DIR}/consumer_pkgconfig")
run(pkg-config "${KDPC_C_COMPILER}" ${_cflags}
    "-DKDPC_EXPECTED_VERSION=\"${KDPC_VERSION}\""
    "${KDPC_CONSUMER_DIR}/main.c" -o "${_pc_exe}" ${_pc_flags}
    "-Wl,-rpath,${_prefix}/${KDPC_LIBDIR}")
run(pkg-config "${_pc_exe}")
