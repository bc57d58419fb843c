# mq-broker, mq-pub, mq-sub: end-to-end tests with real processes on loopback.
# include()d from tests/CMakeLists.txt (CMAKE_CURRENT_SOURCE_DIR is tests/).
# Run only these with: ctest --test-dir build -L mq --output-on-failure
#
#   e2e_mq_live  tests/e2e/test_mq_live.py: queues with slow, killed and stopped
#                consumers (200,000 lines), the broker killed mid-publish, full
#                queues, plain ZeroMQ clients both ways (python3-zmq), malformed
#                frames and garbage, exit statuses, $SYS stats, | head, --direct.
#                Needs Debian's python3-zmq, so it runs /usr/bin/python3 (another
#                python3 on PATH may lack it), and `yes` and `head`.
#
# Topic pattern matching is a unit-test table (tests/unit, [mq]).

find_program(GOVSTREAM_SYSTEM_PYTHON NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH
             DOC "The python3 that has Debian's python3-zmq")
if(NOT GOVSTREAM_SYSTEM_PYTHON)
  # Keep the test registered so that a missing interpreter fails loudly.
  message(WARNING "/usr/bin/python3 not found: e2e_mq_live will fail (apt install python3 python3-zmq)")
  set(GOVSTREAM_SYSTEM_PYTHON /usr/bin/python3)
endif()

add_test(NAME e2e_mq_live
         COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                 GOVSTREAM_SANITIZED=$<BOOL:${GOVSTREAM_SANITIZE}>
                 ${GOVSTREAM_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_mq_live.py -v)
set_tests_properties(e2e_mq_live PROPERTIES
  TIMEOUT 600
  LABELS "e2e;mq"
  # Heartbeats, idle timeouts and bounded waits run on the wall clock: keep
  # other heavy tests off the two cores meanwhile.
  RUN_SERIAL TRUE)

#   e2e_mq_durable  tests/e2e/test_durable_live.py: mq-broker --data-dir, proven
#                by kill -9: restarts deliver exactly the unacknowledged
#                messages, a crash loop (5 x kill -9 during 1,000,000 lines;
#                300,000 under the sanitizers) loses no confirmed line, torn and
#                corrupt segments, a full disk (ulimit -f), a locked directory.
add_test(NAME e2e_mq_durable
         COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                 GOVSTREAM_SANITIZED=$<BOOL:${GOVSTREAM_SANITIZE}>
                 ${GOVSTREAM_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_durable_live.py -v)
set_tests_properties(e2e_mq_durable PROPERTIES
  TIMEOUT 900
  LABELS "e2e;mq"
  RUN_SERIAL TRUE)

#   e2e_rabbitmq_fixture  tests/e2e/test_rabbitmq_fixture.py: the private
#                RabbitMQ node of tests/e2e/rabbitmq.py (used by bench/run
#                durable and the AMQP tests) starts, takes and gives a message
#                over amqp:// and amqps:// (pika), and stops without leaving a
#                process behind. Fails when rabbitmq-server or python3-pika
#                is missing (scripts/install-deps installs them).
add_test(NAME e2e_rabbitmq_fixture
         COMMAND ${GOVSTREAM_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_rabbitmq_fixture.py -v)
set_tests_properties(e2e_rabbitmq_fixture PROPERTIES
  TIMEOUT 180
  LABELS "e2e;mq"
  RUN_SERIAL TRUE)

#   e2e_mq_amqp  tests/e2e/test_amqp_live.py: mq-pub and mq-sub against that
#                RabbitMQ node over amqp:// and amqps://: quorum, classic and
#                stream queues, publisher confirms, mandatory returns and
#                nacks (status 6), refused logins (10), refused set-ups (11),
#                credentials from a file or the environment, TLS with and
#                without a client certificate, acks after the write (-c N,
#                SIGINT, | head), pika as the foreign publisher and consumer,
#                and one pipeline run unchanged against mq-broker and RabbitMQ.
add_test(NAME e2e_mq_amqp
         COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                 GOVSTREAM_SANITIZED=$<BOOL:${GOVSTREAM_SANITIZE}>
                 ${GOVSTREAM_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_amqp_live.py -v)
set_tests_properties(e2e_mq_amqp PROPERTIES
  TIMEOUT 600
  LABELS "e2e;mq"
  RUN_SERIAL TRUE)

#   e2e_mq_amqp_cluster  tests/e2e/test_amqp_cluster_live.py: past one machine.
#                Three RabbitMQ nodes clustered on this machine (RabbitCluster:
#                three node names and ports, one private epmd and cookie); a
#                quorum queue on all three; the queue's leader is killed with
#                kill -9 while mq-pub publishes 200,000 lines through it (exit
#                status 5, the unconfirmed lines counted) or through a follower
#                (exit status 0); every confirmed line is consumed from the
#                survivors.
add_test(NAME e2e_mq_amqp_cluster
         COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                 GOVSTREAM_SANITIZED=$<BOOL:${GOVSTREAM_SANITIZE}>
                 ${GOVSTREAM_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_amqp_cluster_live.py -v)
set_tests_properties(e2e_mq_amqp_cluster PROPERTIES
  TIMEOUT 600
  LABELS "e2e;mq"
  RUN_SERIAL TRUE)

#   e2e_mq_curve  tests/e2e/test_curve_live.py: mq-broker's security. CURVE
#                on every endpoint (a recording TCP proxy sees no payload,
#                and sees it without CURVE), authorized keys, ACLs (per message,
#                subscribe, consume, declare, bind, plain SUB prefixes, $SYS),
#                reloads with live clients, pyzmq CURVE clients, bad key files.
add_test(NAME e2e_mq_curve
         COMMAND /usr/bin/env GOVSTREAM_BIN=${CMAKE_BINARY_DIR}/bin
                 ${GOVSTREAM_SYSTEM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/test_curve_live.py -v)
set_tests_properties(e2e_mq_curve PROPERTIES
  TIMEOUT 600
  LABELS "e2e;mq"
  RUN_SERIAL TRUE)
