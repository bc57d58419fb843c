# Test-only cases for tests/bench/test_bench_run.py, loaded with
# bench/run --cases FILE (the same case() calls as the table in bench/run).

# A deliberately wrong peer: it keeps 4xx lines too, so its output differs
# from stream-filter's; the output check must fail the case before timing.
case("filter", "wrong-peer", "{bin}/stream-filter --stats '.status >= 500' {data}",
     peers=[("jq, wrong on purpose", "jq -c 'select(.status >= 400)' {prefix}")])

# A peer that is not installed anywhere: shown as "not installed", never dropped.
case("filter", "missing-peer", "{bin}/stream-filter --stats '.status >= 500' {data}",
     peers=[("no such tool", "govstream-no-such-peer {prefix}"), ("jq", "jq -c 'select(.status >= 500)' {prefix}")])
