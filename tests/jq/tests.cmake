# Differential tests of stream-filter against Debian's jq 1.6 (see jq/README.md).
# include()d from tests/CMakeLists.txt, so CMAKE_CURRENT_SOURCE_DIR is tests/.
# The runner is a standard-library python3 script; jq must be installed (apt: jq).

find_program(GOVSTREAM_JQ NAMES jq PATHS /usr/bin DOC "jq used as the reference for stream-filter")
if(NOT GOVSTREAM_JQ)
  # Keep the tests registered so that a missing jq fails loudly instead of skipping.
  message(WARNING "jq not found: the jq_diff_* and jq_refused tests will fail (apt install jq)")
  set(GOVSTREAM_JQ /usr/bin/jq)
endif()

set(_govstream_jq_runner ${CMAKE_CURRENT_SOURCE_DIR}/jq/run-differential)

add_test(NAME jq_diff_filter
         COMMAND ${_govstream_jq_runner} $<TARGET_FILE:stream-filter> --jq ${GOVSTREAM_JQ} --only filter)
add_test(NAME jq_diff_map
         COMMAND ${_govstream_jq_runner} $<TARGET_FILE:stream-filter> --jq ${GOVSTREAM_JQ} --only map)
add_test(NAME jq_refused
         COMMAND ${_govstream_jq_runner} $<TARGET_FILE:stream-filter> --jq ${GOVSTREAM_JQ} --only refused)

set_tests_properties(jq_diff_filter jq_diff_map jq_refused PROPERTIES
                     TIMEOUT 300
                     LABELS "e2e;jq")
