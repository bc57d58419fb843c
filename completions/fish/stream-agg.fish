# fish completion for stream-agg
# Generated from the govstream option table (lib/cli); do not edit.
# Regenerate with: stream-agg --generate fish

complete -c 'stream-agg' -f
complete -c 'stream-agg' -s 'b' -l 'by' -r -f -d 'Group by the value of EXPR (repeatable: one key field each)'
complete -c 'stream-agg' -l 'exact' -d 'Exact percentiles (all values kept in memory), as mlr stats1 computes them'
complete -c 'stream-agg' -l 'sort' -r -f -d 'Order groups by an output field, highest first (\':asc\' for lowest first)'
complete -c 'stream-agg' -l 'top' -r -f -d 'Write only the first N groups (after --sort)'
complete -c 'stream-agg' -l 'every' -r -f -d 'Also write a snapshot of all groups after every N records'
complete -c 'stream-agg' -l 'interval' -r -f -d 'Also write a snapshot every DUR of wall-clock time, even while input is idle'
complete -c 'stream-agg' -l 'reset' -d 'Start from empty groups after each snapshot (per-period results)'
complete -c 'stream-agg' -l 'max-groups' -r -f -d 'At most N groups; later new keys are folded into one group keyed "(other)"'
complete -c 'stream-agg' -l 'trust-input' -d 'Read each line only as far as the keys and values need, without validating the rest'
complete -c 'stream-agg' -l 'list' -d 'List the aggregate functions and exit'
complete -c 'stream-agg' -s 'i' -l 'input' -r -F -d 'Read FILE instead of standard input (\'-\' is standard input)'
complete -c 'stream-agg' -l 'strict' -d 'Stop at the first bad input line or evaluation error (exit status 3)'
complete -c 'stream-agg' -l 'max-line-bytes' -r -f -d 'Longest accepted input line; longer lines are skipped and reported'
complete -c 'stream-agg' -l 'line-buffered' -d 'Flush standard output after every record'
complete -c 'stream-agg' -l 'stats' -d 'Print a one-line JSON summary on standard error at exit'
complete -c 'stream-agg' -l 'progress' -d 'Show a live progress line on standard error when it is a terminal'
complete -c 'stream-agg' -s 'j' -l 'threads' -r -f -d 'Parse and evaluate lines on N worker threads (0: one per CPU this process may use)'
complete -c 'stream-agg' -l 'state' -r -F -d 'Resume where the last run with FILE stopped: only new input lines are read (for cron)'
complete -c 'stream-agg' -l 'state-reset' -d 'With --state: ignore what FILE holds and start afresh (from the start of every input)'
complete -c 'stream-agg' -l 'state-wait' -r -f -d 'With --state: how long to wait for another run that holds FILE, then exit 12'
complete -c 'stream-agg' -l 'rotated' -r -f -d 'With --state: where else rotated generations of the inputs may be (besides PATH.N and PATH-*)'
complete -c 'stream-agg' -s 'h' -l 'help' -d 'Print this help message and exit'
complete -c 'stream-agg' -l 'version' -d 'Display program version information and exit'
complete -c 'stream-agg' -l 'generate' -r -f -a 'man bash zsh fish' -d 'Print the man page or a shell completion script and exit'
