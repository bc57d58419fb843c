# stream-window: a reference comparison, and live wall-clock / signal behaviour.
# include()d from tests/CMakeLists.txt (CMAKE_CURRENT_SOURCE_DIR is tests/).
# Run only these with: ctest --test-dir build -L window --output-on-failure
#
#   window_reference  tests/window/run-reference-compare: tumbling and sliding
#                     counts on shuffled (bounded out-of-order) input with a
#                     sufficient --max-delay equal jq's sort-then-bucket
#                     reference (needs jq)
#   window_flink_model tests/window/run-flink-compare: late records, allowed
#                     lateness, marks and late_dropped for tumbling, sliding,
#                     session and count windows, against a brute-force model
#                     of Flink's event-time semantics, on randomized input
#   e2e_window_live   tests/e2e/test_window_live.py: --idle-timeout, processing
#                     time while idle, SIGINT/SIGTERM, closed downstream pipe
#                     (needs yes, head)
#
# The data-driven cases under tests/cases/stream-window/ run in e2e_cases, and
# window assignment, watermarks and timestamp parsing in unit_tests
# (tests/unit/window_test.cpp [window], tests/unit/time_test.cpp [time]).

find_program(GOVSTREAM_JQ NAMES jq PATHS /usr/bin DOC "jq, the reference for stream-window")
if(NOT GOVSTREAM_JQ)
  message(WARNING "jq not found: the window_reference test will fail (apt install jq)")
  set(GOVSTREAM_JQ /usr/bin/jq)
endif()

add_test(NAME window_reference
         COMMAND /usr/bin/env python3 ${CMAKE_CURRENT_SOURCE_DIR}/window/run-reference-compare
                 ${CMAKE_BINARY_DIR}/bin --jq ${GOVSTREAM_JQ})
set_tests_properties(window_reference PROPERTIES
  TIMEOUT 300
  LABELS "e2e;window")

add_test(NAME window_flink_model
         COMMAND /usr/bin/env python3 ${CMAKE_CURRENT_SOURCE_DIR}/window/run-flink-compare
                 ${CMAKE_BINARY_DIR}/bin --seeds 6)
set_tests_properties(window_flink_model PROPERTIES
  TIMEOUT 300
  LABELS "e2e;window")

add_test(NAME e2e_window_live
         COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                 python3 ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_window_live.py -v)
set_tests_properties(e2e_window_live PROPERTIES
  TIMEOUT 300
  LABELS "e2e;window"
  # Wall-clock bounds (idle timeout, processing time): keep heavy tests off the CPU.
  RUN_SERIAL TRUE)
