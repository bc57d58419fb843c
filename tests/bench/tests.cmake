# The benchmark harness: bench/run --quick on tiny data (filter and agg
# suites), its output check and its doc writer; tests/bench/test_bench_run.py.
# include()d from tests/CMakeLists.txt (CMAKE_CURRENT_SOURCE_DIR is tests/).
# Run only this with: ctest --test-dir build -L bench --output-on-failure
#
# It times real processes, so it runs alone (RUN_SERIAL). Its duration is
# printed, not asserted: no timing assertions in tests.
add_test(NAME bench_quick
         COMMAND /usr/bin/env python3 ${CMAKE_CURRENT_SOURCE_DIR}/bench/test_bench_run.py
                 ${CMAKE_BINARY_DIR})
set_tests_properties(bench_quick PROPERTIES
  TIMEOUT 600
  LABELS "bench"
  RUN_SERIAL TRUE)
