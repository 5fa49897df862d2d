# SPDX-License-Identifier: MIT
#
# The HTML report's page (src/trace/html.c): report.html with report.css and report.js
# inlined, embedded into libkdpc as a byte array in the generated kdpc_html_assets.h.
# Included from the top-level CMakeLists.txt after add_library(kdpc).
set(KDPC_HTML_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(KDPC_HTML_GEN "${PROJECT_BINARY_DIR}/generated/kdpc_html_assets.h")
add_custom_command(
  OUTPUT "${KDPC_HTML_GEN}"
  COMMAND "${CMAKE_COMMAND}"
    "-DHTML=${KDPC_HTML_DIR}/report.html"
    "-DCSS=${KDPC_HTML_DIR}/report.css"
    "-DJS=${KDPC_HTML_DIR}/report.js"
    "-DOUT=${KDPC_HTML_GEN}"
    -P "${KDPC_HTML_DIR}/embed.cmake"
  DEPENDS
    "${KDPC_HTML_DIR}/report.html"
    "${KDPC_HTML_DIR}/report.css"
    "${KDPC_HTML_DIR}/report.js"
    "${KDPC_HTML_DIR}/embed.cmake"
  COMMENT "Embedding the HTML report page"
  VERBATIM)
target_sources(kdpc PRIVATE "${KDPC_HTML_GEN}")
target_include_directories(kdpc PRIVATE "${PROJECT_BINARY_DIR}/generated")
