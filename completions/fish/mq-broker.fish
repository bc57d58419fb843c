# fish completion for mq-broker
# Generated from the govstream option table (lib/cli); do not edit.
# Regenerate with: mq-broker --generate fish

complete -c 'mq-broker' -f
complete -c 'mq-broker' -s 'l' -l 'listen' -r -f -d 'Where mq-pub and mq-sub connect'
complete -c 'mq-broker' -l 'sub-listen' -r -f -d 'XPUB endpoint for plain ZeroMQ SUB clients (\'none\' to disable)'
complete -c 'mq-broker' -l 'pub-listen' -r -f -d 'Endpoint for plain ZeroMQ PUB clients sending [topic, payload] (\'none\' to disable)'
complete -c 'mq-broker' -l 'push-listen' -r -f -d 'Endpoint for plain ZeroMQ PUSH clients sending [topic, payload] (\'none\' to disable)'
complete -c 'mq-broker' -l 'stats-interval' -r -f -d 'Publish the broker\'s metrics as NDJSON on $SYS.broker.stats every DUR'
complete -c 'mq-broker' -l 'heartbeat' -r -f -d 'Heartbeat interval told to clients; a client silent for 3 intervals is gone'
complete -c 'mq-broker' -l 'max-queue-bytes' -r -f -d 'Largest total payload a queue holds (ready and unacknowledged); then publishes are refused'
complete -c 'mq-broker' -l 'max-queue-messages' -r -f -d 'Most messages a queue holds (ready and unacknowledged); then publishes are refused'
complete -c 'mq-broker' -l 'max-message-bytes' -r -f -d 'Largest payload accepted; larger ones are refused'
complete -c 'mq-broker' -l 'subscriber-buffer' -r -f -d 'Bytes held for one fan-out subscriber before publishers are held back'
complete -c 'mq-broker' -l 'stall-timeout' -r -f -d 'Disconnect a fan-out subscriber that holds publishers back and acknowledges nothing for DUR'
complete -c 'mq-broker' -l 'data-dir' -r -F -d 'Keep named queues in DIR, durable through restarts and crashes (created if missing; one broker per DIR)'
complete -c 'mq-broker' -l 'fsync' -r -f -a 'batch always never' -d 'With --data-dir: when a publish is on disk before it is confirmed'
complete -c 'mq-broker' -l 'segment-size' -r -f -d 'With --data-dir: start a new log segment once one holds SIZE; drained segments are deleted'
complete -c 'mq-broker' -l 'queue-memory' -r -f -d 'With --data-dir: most of one queue\'s messages held in memory; the rest of its backlog stays on disk and is read back in order as it is delivered'
complete -c 'mq-broker' -l 'curve-key' -r -F -d 'Encrypt every endpoint with CURVE, with the broker\'s secret key in FILE (see --gen-key)'
complete -c 'mq-broker' -l 'authorized-keys' -r -F -d 'Only clients with these public keys may connect (a directory of .pub files, or a file)'
complete -c 'mq-broker' -l 'acl' -r -F -d 'What each key name may publish, subscribe to, consume, declare and bind (needs --authorized-keys)'
complete -c 'mq-broker' -l 'gen-key' -r -F -d 'Write a new CURVE key pair: FILE (secret, mode 0600) and FILE.pub, then exit'
complete -c 'mq-broker' -s 'v' -l 'verbose' -d 'Log clients connecting and leaving, and queues being declared'
complete -c 'mq-broker' -s 'h' -l 'help' -d 'Print this help message and exit'
complete -c 'mq-broker' -l 'version' -d 'Display program version information and exit'
complete -c 'mq-broker' -l 'generate' -r -f -a 'man bash zsh fish' -d 'Print the man page or a shell completion script and exit'
