// DuckDB as a benchmark peer (bench/run): runs one SQL statement with
// DuckDB's engine from the npm registry (@duckdb/node-api, installed by
// `scripts/install-deps --bench` into bench/duckdb/), writes each result row
// as one JSON line, then on standard error {"program":"duckdb","rows":N,
// "startup_s":S,"query_s":Q} (where bench/run reads a program's --stats):
// S is the time to load the engine and open an in-memory database, Q the
// statement's own time, so that the suite can compare with and without
// DuckDB's start-up.
//
// usage: node bench/duckdb-peer.mjs THREADS SQL
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const t0 = process.hrtime.bigint();
const secs = (a, b) => Number(b - a) / 1e9;
const require = createRequire(new URL('./duckdb/', import.meta.url));
const { DuckDBInstance } = await import(pathToFileURL(require.resolve('@duckdb/node-api')).href);
const [threads, sql] = process.argv.slice(2);
const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
const connection = await instance.connect();
const t1 = process.hrtime.bigint();
const reader = await connection.runAndReadAll(sql);
const rows = reader.getRowObjectsJson();
const t2 = process.hrtime.bigint();
let out = '';
for (const row of rows) out += JSON.stringify(row) + '\n';
process.stdout.write(out);
process.stderr.write(JSON.stringify({ program: 'duckdb', rows: rows.length, startup_s: secs(t0, t1),
                                      query_s: secs(t1, t2) }) + '\n');
