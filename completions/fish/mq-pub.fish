# fish completion for mq-pub
# Generated from the govstream option table (lib/cli); do not edit.
# Regenerate with: mq-pub --generate fish

complete -c 'mq-pub' -f
complete -c 'mq-pub' -s 't' -l 'topic' -r -f -d 'Publish every line on TOPIC (dot-separated words)'
complete -c 'mq-pub' -l 'topic-from' -r -f -d 'Publish each line on the topic EXPR gives for it (a string)'
complete -c 'mq-pub' -s 'b' -l 'broker' -r -f -d 'The broker: mq-broker (tcp://HOST:PORT, ipc://PATH) or RabbitMQ (amqp://, amqps://)'
complete -c 'mq-pub' -l 'connect-timeout' -r -f -d 'How long to keep trying to reach the broker before giving up (exit status 5)'
complete -c 'mq-pub' -l 'exchange' -r -f -d 'amqp://: the topic exchange topics are routing keys on (it must exist)'
complete -c 'mq-pub' -l 'credentials' -r -F -d 'amqp://: read USER:PASSWORD from the first line of FILE'
complete -c 'mq-pub' -l 'tls-ca' -r -F -d 'amqps://: verify the broker\'s certificate against the CA certificates in FILE (PEM)'
complete -c 'mq-pub' -l 'tls-cert' -r -F -d 'amqps://: client certificate (PEM), with --tls-key'
complete -c 'mq-pub' -l 'tls-key' -r -F -d 'amqps://: the client certificate\'s private key (PEM)'
complete -c 'mq-pub' -l 'curve-key' -r -F -d 'mq-broker: encrypt with CURVE and authenticate with this client\'s secret key file (with --server-key)'
complete -c 'mq-pub' -l 'server-key' -r -f -d 'mq-broker: the broker\'s public key: its .pub file, or the key\'s 40 Z85 characters'
complete -c 'mq-pub' -s 'W' -l 'timeout' -r -f -d 'Longest wait for a confirmation before giving up (exit status 7)'
complete -c 'mq-pub' -l 'batch' -r -f -d 'Lines per PUBLISH batch (at most 1 MiB); partial batches go out when input pauses'
complete -c 'mq-pub' -l 'mandatory' -d 'Refuse lines that no queue or subscriber would receive (exit status 6)'
complete -c 'mq-pub' -l 'id' -r -f -d 'Publisher id carried by every message'
complete -c 'mq-pub' -l 'listen' -r -f -d 'No broker: publish to mq-sub --direct subscribers of ENDPOINT, at most once'
complete -c 'mq-pub' -s 'i' -l 'input' -r -F -d 'Read FILE instead of standard input (\'-\' is standard input)'
complete -c 'mq-pub' -l 'strict' -d 'Stop at the first bad input line or evaluation error (exit status 3)'
complete -c 'mq-pub' -l 'max-line-bytes' -r -f -d 'Longest accepted input line; longer lines are skipped and reported'
complete -c 'mq-pub' -l 'stats' -d 'Print a one-line JSON summary on standard error at exit'
complete -c 'mq-pub' -l 'progress' -d 'Show a live progress line on standard error when it is a terminal'
complete -c 'mq-pub' -s 'h' -l 'help' -d 'Print this help message and exit'
complete -c 'mq-pub' -l 'version' -d 'Display program version information and exit'
complete -c 'mq-pub' -l 'generate' -r -f -a 'man bash zsh fish' -d 'Print the man page or a shell completion script and exit'
