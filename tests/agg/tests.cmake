# stream-agg: agreement with Miller, and live signal/snapshot behaviour.
# include()d from tests/CMakeLists.txt (CMAKE_CURRENT_SOURCE_DIR is tests/).
# Run only these with: ctest --test-dir build -L agg --output-on-failure
#
#   agg_miller    tests/agg/run-miller-compare: stream-agg against Debian's
#                 Miller (mlr stats1 / count-distinct) on generated data with
#                 missing and mistyped fields (needs mlr: apt install miller)
#   e2e_agg_live  tests/e2e/test_agg_live.py: SIGINT/SIGTERM on live pipes,
#                 --interval snapshots while idle, --every (needs tail, yes, head)
#
# The data-driven cases under tests/cases/stream-agg/ run in e2e_cases, and the
# merge property and spec parsing in unit_tests (tests/unit/agg_test.cpp, [agg]).

find_program(GOVSTREAM_MLR NAMES mlr PATHS /usr/bin DOC "Miller, the reference for stream-agg")
if(NOT GOVSTREAM_MLR)
  # Keep the test registered so that a missing Miller fails loudly instead of skipping.
  message(WARNING "mlr not found: the agg_miller test will fail (apt install miller)")
  set(GOVSTREAM_MLR /usr/bin/mlr)
endif()

add_test(NAME agg_miller
         COMMAND /usr/bin/env python3 ${CMAKE_CURRENT_SOURCE_DIR}/agg/run-miller-compare
                 ${CMAKE_BINARY_DIR}/bin --mlr ${GOVSTREAM_MLR})
set_tests_properties(agg_miller PROPERTIES
  TIMEOUT 300
  LABELS "e2e;agg")

add_test(NAME e2e_agg_live
         COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                 python3 ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_agg_live.py -v)
set_tests_properties(e2e_agg_live PROPERTIES
  TIMEOUT 300
  LABELS "e2e;agg"
  # Wall-clock bounds (snapshot intervals, prompt exits): keep heavy tests off the CPU.
  RUN_SERIAL TRUE)
