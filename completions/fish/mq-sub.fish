# fish completion for mq-sub
# Generated from the govstream option table (lib/cli); do not edit.
# Regenerate with: mq-sub --generate fish

complete -c 'mq-sub' -f
complete -c 'mq-sub' -s 't' -l 'topic' -r -f -d 'Subscribe to topics matching PATTERN'
complete -c 'mq-sub' -s 'q' -l 'queue' -r -f -d 'Consume the named queue, bound to the --topic patterns'
complete -c 'mq-sub' -l 'declare' -d 'Only declare the --queue and its bindings, then exit 0 (messages are kept from then on)'
complete -c 'mq-sub' -s 'c' -l 'count' -r -f -d 'Exit (status 0) after writing N messages; N is at least 1'
complete -c 'mq-sub' -s 'W' -l 'timeout' -r -f -d 'Exit with status 7 when no message arrives for DUR'
complete -c 'mq-sub' -s 'e' -l 'envelope' -d 'Wrap each message: topic, seq, publisher, ts (RFC 3339 UTC), redelivered, payload'
complete -c 'mq-sub' -l 'prefetch' -r -f -d 'Messages the broker may send ahead of acknowledgements (flow-control credit)'
complete -c 'mq-sub' -s 'b' -l 'broker' -r -f -d 'The broker: mq-broker (tcp://HOST:PORT, ipc://PATH) or RabbitMQ (amqp://, amqps://)'
complete -c 'mq-sub' -l 'connect-timeout' -r -f -d 'How long to keep trying to reach the broker before giving up (exit status 5)'
complete -c 'mq-sub' -l 'exchange' -r -f -d 'amqp://: the topic exchange topics are routing keys on (it must exist)'
complete -c 'mq-sub' -l 'credentials' -r -F -d 'amqp://: read USER:PASSWORD from the first line of FILE'
complete -c 'mq-sub' -l 'tls-ca' -r -F -d 'amqps://: verify the broker\'s certificate against the CA certificates in FILE (PEM)'
complete -c 'mq-sub' -l 'tls-cert' -r -F -d 'amqps://: client certificate (PEM), with --tls-key'
complete -c 'mq-sub' -l 'tls-key' -r -F -d 'amqps://: the client certificate\'s private key (PEM)'
complete -c 'mq-sub' -l 'curve-key' -r -F -d 'mq-broker: encrypt with CURVE and authenticate with this client\'s secret key file (with --server-key)'
complete -c 'mq-sub' -l 'server-key' -r -f -d 'mq-broker: the broker\'s public key: its .pub file, or the key\'s 40 Z85 characters'
complete -c 'mq-sub' -l 'queue-type' -r -f -a 'classic quorum stream' -d 'amqp://: the type of a --queue that mq-sub declares'
complete -c 'mq-sub' -l 'direct' -r -f -d 'No broker: subscribe to an mq-pub --listen ENDPOINT, at most once'
complete -c 'mq-sub' -l 'name' -r -f -d 'Name shown in the broker\'s log'
complete -c 'mq-sub' -l 'line-buffered' -d 'Flush standard output after every message'
complete -c 'mq-sub' -l 'stats' -d 'Print a one-line JSON summary on standard error at exit'
complete -c 'mq-sub' -s 'h' -l 'help' -d 'Print this help message and exit'
complete -c 'mq-sub' -l 'version' -d 'Display program version information and exit'
complete -c 'mq-sub' -l 'generate' -r -f -a 'man bash zsh fish' -d 'Print the man page or a shell completion script and exit'
