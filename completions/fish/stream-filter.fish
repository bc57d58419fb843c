# fish completion for stream-filter
# Generated from the govstream option table (lib/cli); do not edit.
# Regenerate with: stream-filter --generate fish

complete -c 'stream-filter' -s 'v' -l 'invert' -d 'Keep the records for which EXPR is false or null'
complete -c 'stream-filter' -s 'c' -l 'count' -d 'Print only the number of kept records'
complete -c 'stream-filter' -s 'n' -l 'limit' -r -f -d 'Stop reading after N kept records, like grep -m'
complete -c 'stream-filter' -l 'map' -r -f -d 'Write the value of EXPR for each kept record instead of the record'
complete -c 'stream-filter' -l 'fields' -r -f -d 'Write only these fields, e.g. host,status,client.ip'
complete -c 'stream-filter' -l 'trust-input' -d 'Check only kept records fully; read the others only as far as EXPR needs'
complete -c 'stream-filter' -s 'i' -l 'input' -r -F -d 'Read FILE instead of standard input (\'-\' is standard input)'
complete -c 'stream-filter' -l 'strict' -d 'Stop at the first bad input line or evaluation error (exit status 3)'
complete -c 'stream-filter' -l 'max-line-bytes' -r -f -d 'Longest accepted input line; longer lines are skipped and reported'
complete -c 'stream-filter' -l 'line-buffered' -d 'Flush standard output after every record'
complete -c 'stream-filter' -l 'stats' -d 'Print a one-line JSON summary on standard error at exit'
complete -c 'stream-filter' -l 'progress' -d 'Show a live progress line on standard error when it is a terminal'
complete -c 'stream-filter' -s 'j' -l 'threads' -r -f -d 'Parse and evaluate lines on N worker threads (0: one per CPU this process may use)'
complete -c 'stream-filter' -l 'state' -r -F -d 'Resume where the last run with FILE stopped: only new input lines are read (for cron)'
complete -c 'stream-filter' -l 'state-reset' -d 'With --state: ignore what FILE holds and start afresh (from the start of every input)'
complete -c 'stream-filter' -l 'state-wait' -r -f -d 'With --state: how long to wait for another run that holds FILE, then exit 12'
complete -c 'stream-filter' -l 'rotated' -r -f -d 'With --state: where else rotated generations of the inputs may be (besides PATH.N and PATH-*)'
complete -c 'stream-filter' -s 'h' -l 'help' -d 'Print this help message and exit'
complete -c 'stream-filter' -l 'version' -d 'Display program version information and exit'
complete -c 'stream-filter' -l 'generate' -r -f -a 'man bash zsh fish' -d 'Print the man page or a shell completion script and exit'
