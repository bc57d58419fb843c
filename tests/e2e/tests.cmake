# End-to-end tests: the built programs run in real shell pipelines.
# include()d from tests/CMakeLists.txt (CMAKE_CURRENT_SOURCE_DIR is tests/).
# Run only these with: ctest --test-dir build -L e2e --output-on-failure
#
#   e2e_cases  data-driven cases under tests/cases/<program>/NNNN/ (cmd, expout,
#              experr, expcode), run by tests/e2e/run-cases
#   e2e_live   timing, closed pipes, signals, memory bound and agreement with jq,
#              tests/e2e/test_live.py (needs jq, tail, yes, head, cat, /usr/bin/time)

set(GOVSTREAM_E2E_DIR ${CMAKE_CURRENT_SOURCE_DIR}/e2e)

add_test(NAME e2e_cases
         COMMAND /usr/bin/env python3 ${GOVSTREAM_E2E_DIR}/run-cases
                 ${CMAKE_BINARY_DIR}/bin ${CMAKE_CURRENT_SOURCE_DIR}/cases)
set_tests_properties(e2e_cases PROPERTIES
  TIMEOUT 300
  LABELS "e2e")

#   e2e_cases_threads_N  the same cases with stream-filter, stream-agg and
#              stream-window --threads N (1, 4):
#              output, diagnostics and status identical at every thread count
#              (the default, one thread per CPU, is what e2e_cases runs)
foreach(n 1 4)
  add_test(NAME e2e_cases_threads_${n}
           COMMAND /usr/bin/env python3 ${GOVSTREAM_E2E_DIR}/run-cases --threads ${n}
                   ${CMAKE_BINARY_DIR}/bin ${CMAKE_CURRENT_SOURCE_DIR}/cases)
  set_tests_properties(e2e_cases_threads_${n} PROPERTIES
    TIMEOUT 300
    LABELS "e2e")
endforeach()

add_test(NAME e2e_live
         COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                 python3 ${GOVSTREAM_E2E_DIR}/test_live.py -v)
set_tests_properties(e2e_live PROPERTIES
  TIMEOUT 300
  LABELS "e2e"
  # The live tests use wall-clock bounds; keep other heavy tests off the CPU.
  RUN_SERIAL TRUE)

#   e2e_state  --state (resumable runs), tests/e2e/test_state_live.py: 20
#              cron-like appends equal one run; rename, copytruncate, two
#              rotations, .gz, dateext, --rotated; 50 runs with SIGKILLs lose
#              nothing; corrupt, mismatched, future and locked state files
add_test(NAME e2e_state
         COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                 python3 ${GOVSTREAM_E2E_DIR}/test_state_live.py -v)
set_tests_properties(e2e_state PROPERTIES
  TIMEOUT 300
  LABELS "e2e")

#   e2e_state_agg     stream-agg --state, tests/e2e/test_state_agg_live.py:
#                     running totals and --reset deltas over 20 appends equal one
#                     run (every aggregate, sketches too), rotations, SIGKILLs,
#                     standard input, bad and locked state files
#   e2e_state_window  stream-window --state, tests/e2e/test_state_window_live.py:
#                     the outputs of cron-like runs are a prefix of one run's (the
#                     rest: windows still open) for every window kind; windows
#                     spanning runs fire once; late output; SIGKILLs; bad state
foreach(t agg window)
  add_test(NAME e2e_state_${t}
           COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                   python3 ${GOVSTREAM_E2E_DIR}/test_state_${t}_live.py -v)
  set_tests_properties(e2e_state_${t} PROPERTIES
    TIMEOUT 300
    LABELS "e2e")
endforeach()

#   e2e_threads  --threads of stream-filter, stream-agg and stream-window,
#                tests/e2e/test_threads_live.py: at 1, 2 and 4 threads and tiny
#                chunks, identical stdout, stderr and status over bad lines at
#                chunk boundaries, long lines, many files, stdin, -n, --strict,
#                every aggregate and window kind, late records; a live pipe is
#                not held back; --interval snapshots; | head
add_test(NAME e2e_threads
         COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                 python3 ${GOVSTREAM_E2E_DIR}/test_threads_live.py -v)
set_tests_properties(e2e_threads PROPERTIES
  TIMEOUT 300
  LABELS "e2e")
