# SPDX-License-Identifier: MIT
#
# cmake -DCOMPILER=cc -DFLAGS=a|b|c -DSOURCE=file.c -DEXPECT=pass|fail [-DREGEX=re] -P check.cmake
#
# Compiles SOURCE. EXPECT=pass: the compiler must succeed and print nothing. EXPECT=fail: it
# must fail, and print a line with "error" that matches REGEX.
string(REPLACE "|" ";" _flags "${FLAGS}")
execute_process(COMMAND "${COMPILER}" ${_flags} "${SOURCE}"
  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
if(EXPECT STREQUAL "pass")
  if(NOT _rc EQUAL 0 OR NOT _out STREQUAL "")
    message(FATAL_ERROR "expected a clean compile of ${SOURCE}, got (exit ${_rc}):\n${_out}")
  endif()
  message(STATUS "compiled cleanly: ${SOURCE}")
  return()
endif()
if(_rc EQUAL 0)
  message(FATAL_ERROR "expected ${SOURCE} to fail to compile (${REGEX}); it compiled:\n${_out}")
endif()
string(REPLACE "\n" ";" _lines "${_out}")
foreach(_line IN LISTS _lines)
  if(_line MATCHES "error" AND _line MATCHES "${REGEX}")
    message(STATUS "failed as expected: ${_line}")
    return()
  endif()
endforeach()
message(FATAL_ERROR "${SOURCE} failed to compile, but no error line names '${REGEX}':\n${_out}")
