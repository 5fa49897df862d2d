# SPDX-License-Identifier: MIT
#
# cmake -DSIM=<kdpc-sim> -DWORK=<scratch dir> [-DLAUNCHER=<cmd>] -P test_cli.cmake
#
# kdpc-sim's command line: --version, help, list; every usage error is one
# line on stderr naming the bad option, exit status 2, nothing on stdout and
# no file written; a short clean run of each example exits 0; each broken
# variant `kdpc-sim list` names exits 1 and is caught; --trace, --report-json
# and --html write their files whole and leave no temporary file; the JSON
# report is the same bytes in two processes; every output option works in one
# run; two outputs naming one file are refused.
cmake_minimum_required(VERSION 3.25)

set(_failures "")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
separate_arguments(_launcher UNIX_COMMAND "${LAUNCHER}")

# sim(<out prefix> args...): runs kdpc-sim; sets <prefix>_RC, _OUT, _ERR.
function(sim prefix)
  execute_process(COMMAND ${_launcher} "${SIM}" ${ARGN}
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err
    WORKING_DIRECTORY "${WORK}")
  set(${prefix}_RC "${_rc}" PARENT_SCOPE)
  set(${prefix}_OUT "${_out}" PARENT_SCOPE)
  set(${prefix}_ERR "${_err}" PARENT_SCOPE)
endfunction()

macro(fail what)
  list(APPEND _failures "${what}")
  message(STATUS "FAIL: ${what}")
endmacro()

# expect_usage(<needle> args...): exit 2, one stderr line containing <needle>, empty stdout.
function(expect_usage needle)
  sim(R ${ARGN})
  string(REPLACE ";" " " _cmd "${ARGN}")
  if(NOT R_RC EQUAL 2)
    fail("kdpc-sim ${_cmd}: exit ${R_RC}, expected 2")
  endif()
  string(REGEX MATCHALL "\n" _nl "${R_ERR}")
  list(LENGTH _nl _lines)
  if(NOT _lines EQUAL 1)
    fail("kdpc-sim ${_cmd}: ${_lines} lines on stderr, expected one: ${R_ERR}")
  endif()
  string(FIND "${R_ERR}" "${needle}" _at)
  if(_at LESS 0)
    fail("kdpc-sim ${_cmd}: stderr does not name '${needle}': ${R_ERR}")
  endif()
  if(NOT R_OUT STREQUAL "")
    fail("kdpc-sim ${_cmd}: printed on stdout: ${R_OUT}")
  endif()
  set(_failures "${_failures}" PARENT_SCOPE)
endfunction()

# expect_out(<rc> <needle> args...): exit <rc> and stdout containing <needle>.
function(expect_out rc needle)
  sim(R ${ARGN})
  string(REPLACE ";" " " _cmd "${ARGN}")
  if(NOT R_RC EQUAL rc)
    fail("kdpc-sim ${_cmd}: exit ${R_RC}, expected ${rc}\n${R_OUT}\n${R_ERR}")
  endif()
  string(FIND "${R_OUT}" "${needle}" _at)
  if(_at LESS 0)
    fail("kdpc-sim ${_cmd}: stdout lacks '${needle}':\n${R_OUT}")
  endif()
  set(_failures "${_failures}" PARENT_SCOPE)
  set(LAST_OUT "${R_OUT}" PARENT_SCOPE)
endfunction()

# ---- help, version, list -----------------------------------------------------
expect_out(0 "kdpc-sim " --version)
expect_out(0 "usage: kdpc-sim run" --help)
expect_out(0 "usage: kdpc-sim run" help)
expect_out(0 "--duration" help run)
expect_out(0 "--duration" run --help)
expect_out(0 "--faults" run serial --help)
expect_out(0 "usage: kdpc-sim list" help list)
expect_out(0 "usage: kdpc-sim list" list --help)
expect_out(0 "--broken" list)
set(_list "${LAST_OUT}")
foreach(_ex serial disk nic)
  string(REGEX MATCH "(^|\n)${_ex} " _m "${_list}")
  if(_m STREQUAL "")
    fail("kdpc-sim list does not name ${_ex}")
  endif()
endforeach()

# ---- usage errors --------------------------------------------------------------
sim(R)
if(NOT R_RC EQUAL 2)
  fail("kdpc-sim with no command: exit ${R_RC}, expected 2")
endif()
expect_usage("frobnicate" frobnicate)
expect_usage("which example" run)
expect_usage("tape" run tape)
expect_usage("tape" run serial tape)
expect_usage("--frobnicate" run serial --frobnicate)
expect_usage("--cpus" run serial --cpus 0)
expect_usage("--cpus" run serial --cpus 65)
expect_usage("--cpus" run serial --cpus two)
expect_usage("--cpus" run serial --cpus)
expect_usage("--seed" run serial --seed -1)
expect_usage("--seed" run serial --seed 18446744073709551616)
expect_usage("--duration" run serial --duration -1s)
expect_usage("--duration" run serial --duration 0)
expect_usage("--duration" run serial --duration 3601s)
expect_usage("--duration" run serial --duration 1e12s)
expect_usage("--duration" run serial --duration 5h)
expect_usage("--duration" run serial --duration nan)
expect_usage("--load" run serial --load medium)
expect_usage("--faults" run serial --faults 2)
expect_usage("--faults" run serial --faults -0.1)
expect_usage("--faults" run serial --faults 0.0001)
expect_usage("--faults" run serial --faults 0.0005) # not silently 0.001
expect_usage("--faults" run serial --faults 0x1)
expect_usage("--duration" run serial --duration 0x10s) # strtod's hexadecimal float
expect_usage("--cpus" run serial --cpus 1e1)
expect_usage("--cpus" run serial --cpus " 2")
expect_usage("--cpus" run serial --cpus=)
expect_usage("--bogus=1" run serial --bogus=1)
expect_usage("--duration=1ms" run -- serial --duration=1ms) # after --, no more options
expect_usage("--faults" run serial --faults lots)
expect_usage("--broken" run serial --broken no-such-variant)
expect_usage("--mode" run serial --mode no-such-mode)
expect_usage("help" help frobnicate)
expect_usage("list" list extra)

# A trace path that cannot be written: exit 2, nothing left behind.
expect_usage("--trace" run serial --duration 1ms --trace "${WORK}/no/such/dir/t.txt")
if(EXISTS "${WORK}/no")
  fail("--trace into a missing folder created something")
endif()
file(MAKE_DIRECTORY "${WORK}/adir")
expect_usage("--trace" run serial --duration 1ms --trace "${WORK}/adir")
file(GLOB _left "${WORK}/adir*")
list(LENGTH _left _nleft)
if(NOT _nleft EQUAL 1)
  fail("--trace to a folder left files behind: ${_left}")
endif()

# A symbolic link to nowhere is refused; /dev/full is not a regular file.
file(CREATE_LINK "${WORK}/nowhere/t.txt" "${WORK}/dangling" SYMBOLIC)
expect_usage("--trace" run serial --duration 1ms --trace "${WORK}/dangling")
expect_usage("--trace" run serial --duration 1ms --trace /dev/full)

# ---- runs --------------------------------------------------------------------
# Numbers as a person means them: a leading 0 is not octal, 0x is hexadecimal; options go
# before or after the example, as --name VALUE or --name=VALUE; the last one given counts.
expect_out(0 "10 CPUs, seed 16, 500.0 us" run --cpus 010 serial --seed=0x10 --duration .5ms)
expect_out(0 "3 CPUs" run serial --cpus 1 --cpus=3 --duration 1ms)
expect_out(0 "faults 0.005" run serial --faults 0.5% --duration 1ms)
expect_out(0 "result: clean" run --duration 1ms -- serial)
# The README's main command: the default simulation (serial, 2 CPUs, 2 s) is clean and says
# what happened.
expect_out(0 "result: clean" run serial)
foreach(_needle "requests served" "bytes moved" "ISRs " "DPCs " "violations:         none")
  string(FIND "${LAST_OUT}" "${_needle}" _at)
  if(_at LESS 0)
    fail("kdpc-sim run serial does not print '${_needle}'")
  endif()
endforeach()
foreach(_ex serial disk nic)
  expect_out(0 "result: clean" run ${_ex} --cpus 2 --duration 20ms)
  expect_out(0 "requests served" run ${_ex} --cpus 1 --duration 20ms --load heavy --seed 7)
  expect_out(0 "result:" run ${_ex} --cpus 2 --duration 20ms --faults 0.05)
endforeach()

# Every broken variant kdpc-sim list names is caught (exit 1).
string(REGEX MATCHALL "(^|\n)[a-z]+ [^\n]*|--broken [a-z0-9-]+" _tokens "${_list}")
set(_example "")
set(_nvariants 0)
foreach(_t IN LISTS _tokens)
  if(_t MATCHES "^\n?([a-z]+) ")
    set(_example "${CMAKE_MATCH_1}")
  elseif(_t MATCHES "^--broken ([a-z0-9-]+)")
    math(EXPR _nvariants "${_nvariants} + 1")
    # At the default (light) load and at heavy load: each variant shows its mistake at both.
    expect_out(1 "result: caught" run ${_example} --broken ${CMAKE_MATCH_1} --duration 50ms)
    expect_out(1 "result: caught" run ${_example} --broken ${CMAKE_MATCH_1} --duration 50ms
               --load heavy)
  endif()
endforeach()
if(_nvariants LESS 6)
  fail("kdpc-sim list names ${_nvariants} broken variants; expected at least two per example")
endif()

# --trace writes the file whole, and no temporary file stays.
expect_out(0 "trace:" run serial --duration 5ms --trace "${WORK}/serial.trace")
file(SIZE "${WORK}/serial.trace" _size)
if(_size EQUAL 0)
  fail("--trace wrote an empty file")
endif()
file(GLOB _tmp "${WORK}/serial.trace.*")
if(_tmp)
  fail("--trace left temporary files: ${_tmp}")
endif()
# ... as Perfetto / Chrome trace-event JSON (CMake's own JSON reader must accept it).
file(READ "${WORK}/serial.trace" _json)
string(JSON _ph ERROR_VARIABLE _jerr GET "${_json}" traceEvents 0 ph)
string(JSON _unit ERROR_VARIABLE _jerr2 GET "${_json}" displayTimeUnit)
if(_jerr OR _jerr2 OR NOT _ph STREQUAL "M" OR NOT _unit STREQUAL "ns")
  fail("--trace did not write trace-event JSON: ${_jerr} ${_jerr2}")
endif()

# --timeline prints the per-CPU timeline of the first 10 ms of virtual time (the run, with
# its start and drain, is longer): a row and an IRQL row per CPU, and the legend.
expect_out(0 "timeline: the first 10ms of virtual time\nkdpc timeline: 0us .. 10000us, 400 columns"
           run serial --cpus 2 --duration 2ms --timeline)
if(NOT LAST_OUT MATCHES "\nCPU 1    [.A-Za-z+]+\n  irql   [.0-9A-F#]+\n" OR
   NOT LAST_OUT MATCHES "\nlegend \\(most time first\\):\n  A  ")
  fail("--timeline: no CPU 1 rows or no legend:\n${LAST_OUT}")
endif()

# A symbolic link to a file: the trace goes to the file and the link stays.
file(WRITE "${WORK}/target.trace" "")
file(CREATE_LINK "target.trace" "${WORK}/link.trace" SYMBOLIC)
expect_out(0 "trace:" run serial --duration 1ms --trace "${WORK}/link.trace")
file(SIZE "${WORK}/target.trace" _size)
if(NOT IS_SYMLINK "${WORK}/link.trace" OR _size EQUAL 0)
  fail("--trace through a symbolic link replaced the link or left its file empty")
endif()

# A disk that fills while the trace is written (a file size limit): exit 2, one line, and
# neither the trace nor a temporary file is left.
find_program(_sh sh)
if(_sh AND NOT LAUNCHER)
  execute_process(
    COMMAND ${_sh} -c "trap '' XFSZ; ulimit -f 8; exec \"$0\" run serial --duration 50ms --trace \"$1\""
            "${SIM}" "${WORK}/full.trace"
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  file(GLOB _left "${WORK}/full.trace*")
  if(NOT _rc EQUAL 2 OR _left OR NOT _err MATCHES "^kdpc-sim: --trace: [^\n]*\n$")
    fail("--trace on a full disk: exit ${_rc}, left ${_left}, stderr: ${_err}")
  endif()
endif()

# --report prints the DPC/ISR report; --report-json writes it as JSON, whole, no temporary
# file left; a path that cannot be written is a usage error before the run.
expect_out(0 "DPC/ISR report: virtual time" run disk --duration 5ms --report)
foreach(_needle "Routines, busiest first" "IRP latency per device" "Time per CPU" "DPC queue depth")
  string(FIND "${LAST_OUT}" "${_needle}" _at)
  if(_at LESS 0)
    fail("kdpc-sim run disk --report does not print '${_needle}'")
  endif()
endforeach()
expect_out(0 "report: " run disk --duration 5ms --report-json "${WORK}/disk.json")
file(READ "${WORK}/disk.json" _json)
if(NOT _json MATCHES "^{\"start_ns\":0,.*\"routines\":\\[.*\"violations\":\\[.*\\]}\n$")
  fail("--report-json wrote no report: ${_json}")
endif()
file(GLOB _tmp "${WORK}/disk.json.*")
if(_tmp)
  fail("--report-json left temporary files: ${_tmp}")
endif()
# The same seed gives the same JSON in every process (names, no host addresses: ASLR).
expect_out(0 "report: " run serial --report-json "${WORK}/serial1.json")
expect_out(0 "report: " run serial --report-json "${WORK}/serial2.json")
file(READ "${WORK}/serial1.json" _j1)
file(READ "${WORK}/serial2.json" _j2)
if(NOT _j1 STREQUAL _j2 OR NOT _j1 MATCHES "\"name\":\"SerIsr\"")
  fail("two runs of serial --report-json gave different files (or no SerIsr)")
endif()
if(_j1 MATCHES "0x[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]")
  fail("--report-json holds an address: ${CMAKE_MATCH_0}")
endif()
expect_usage("--report-json" run serial --duration 1ms --report-json "${WORK}/no/such/dir/r.json")
expect_usage("--report-json" run serial --duration 1ms --report-json /dev/full)

# --html writes one self-contained page, whole, no temporary file left; a path that cannot be
# written is a usage error before the run; a disk that fills while the page (or the spool it
# reads) is written: exit 2 and no page.
expect_out(0 "html: " run serial --duration 5ms --html "${WORK}/serial.html")
file(READ "${WORK}/serial.html" _page)
if(NOT _page MATCHES "^<!DOCTYPE html>.*id=\"kdpc-data\">{\"format\":\"kdpc-html-1\".*</html>\n$")
  fail("--html wrote no whole page")
endif()
file(GLOB _tmp "${WORK}/serial.html.*")
if(_tmp)
  fail("--html left temporary files: ${_tmp}")
endif()
expect_usage("--html" run serial --duration 1ms --html "${WORK}/no/such/dir/r.html")
expect_usage("--html" run serial --duration 1ms --html /dev/full)
if(_sh AND NOT LAUNCHER)
  execute_process(
    COMMAND ${_sh} -c "trap '' XFSZ; ulimit -f 8; exec \"$0\" run serial --duration 50ms --html \"$1\""
            "${SIM}" "${WORK}/full.html"
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  file(GLOB _left "${WORK}/full.html*")
  if(NOT _rc EQUAL 2 OR _left OR NOT _err MATCHES "kdpc-sim: --html: could not write")
    fail("--html on a full disk: exit ${_rc}, left ${_left}, stderr: ${_err}")
  endif()
endif()

# The trace is spooled in $TMPDIR during the run: a TMPDIR that does not exist is an output
# that cannot be written (exit 2, one line naming the spool and the folder), no file left.
foreach(_opt --trace --html)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env "TMPDIR=${WORK}/no/such/tmp" ${_launcher}
                          "${SIM}" run serial --duration 1ms ${_opt} "${WORK}/spool.out"
                  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 2 OR NOT _err MATCHES "^kdpc-sim: [^\n]*spool[^\n]*no/such/tmp[^\n]*\n$"
     OR EXISTS "${WORK}/spool.out")
    fail("${_opt} with a missing TMPDIR: exit ${_rc}, stderr: ${_err}")
  endif()
endforeach()

# Every output at once: each file whole, the report and the timeline printed, exit 0.
file(REMOVE "${WORK}/all.trace" "${WORK}/all.json" "${WORK}/all.html")
expect_out(0 "DPC/ISR report: virtual time" run disk --duration 5ms --report --timeline
           --trace "${WORK}/all.trace" --report-json "${WORK}/all.json" --html "${WORK}/all.html")
foreach(_needle "\ntimeline: " "\ntrace:  " "\nreport: " "\nhtml:   " "result: clean")
  string(FIND "${LAST_OUT}" "${_needle}" _at)
  if(_at LESS 0)
    fail("all outputs at once: stdout lacks '${_needle}'")
  endif()
endforeach()
file(READ "${WORK}/all.trace" _t)
file(READ "${WORK}/all.json" _j)
file(READ "${WORK}/all.html" _h)
string(JSON _unit ERROR_VARIABLE _e1 GET "${_t}" displayTimeUnit)
string(JSON _cpus ERROR_VARIABLE _e2 GET "${_j}" cpus)
if(_e1 OR _e2 OR NOT _unit STREQUAL "ns" OR NOT _cpus EQUAL 2 OR NOT _h MATCHES "</html>\n$")
  fail("all outputs at once: a file is not whole: ${_e1} ${_e2}")
endif()
# Two outputs into one file would leave only the last: refused before the run.
expect_usage("same file" run serial --duration 1ms --trace "${WORK}/one.out"
             --report-json "${WORK}/one.out")
expect_usage("same file" run serial --duration 1ms --html "${WORK}/one.out"
             --report-json "${WORK}/./one.out")
expect_usage("same file" run serial --duration 1ms --trace "${WORK}/one.out"
             --html "${WORK}/one.out")
if(EXISTS "${WORK}/one.out")
  fail("two outputs into one file: a file was written")
endif()

if(_failures)
  list(LENGTH _failures _n)
  message(FATAL_ERROR "${_n} kdpc-sim command-line check(s) failed")
endif()
message(STATUS "kdpc-sim command line: all checks passed")
