# SPDX-License-Identifier: MIT
#
# cmake -DDIR=<tests/corpus> [-DEXAMPLES=<examples>] -P no_kdpc_names.cmake
#
# The corpus drivers and the examples' drivers are driver code: WDK names
# only. Fails when a driver's .c or .h (tests/corpus/<driver>/*,
# examples/<name>/driver/*) names kdpc itself (a kdpc_ or KDPC_ identifier,
# or a <kdpc/...> include): such a driver would not compile unchanged for
# Windows.
cmake_minimum_required(VERSION 3.25)
file(GLOB _sources "${DIR}/*/*.c" "${DIR}/*/*.h")
if(EXAMPLES)
  file(GLOB _example_sources "${EXAMPLES}/*/driver/*.c" "${EXAMPLES}/*/driver/*.h")
  list(APPEND _sources ${_example_sources})
endif()
if(NOT _sources)
  message(FATAL_ERROR "no driver sources under ${DIR}")
endif()
set(_bad "")
foreach(_f IN LISTS _sources)
  file(STRINGS "${_f}" _lines REGEX "kdpc_|KDPC_|<kdpc/")
  foreach(_l IN LISTS _lines)
    list(APPEND _bad "${_f}: ${_l}")
  endforeach()
endforeach()
if(_bad)
  list(JOIN _bad "\n" _msg)
  message(FATAL_ERROR "kdpc names in driver code:\n${_msg}")
endif()
list(LENGTH _sources _n)
message(STATUS "${_n} driver sources, WDK names only")
