/**
 * kgentd's log is JSON lines only (pino), on stdout and stderr alike: journal readers and
 * pino-pretty parse every line. LanceDB's native library logs through Rust's env_logger to stderr
 * in its own text format (`[... WARN lance::dataset::scanner] Deprecation warning ...`, once per
 * query), configured by LANCEDB_LOG (the variable its binary reads, next to LANCEDB_LOG_STYLE).
 * Unless the operator set it, it is switched off here, before any module loads LanceDB: its
 * failures still reach us as exceptions, which kgentd logs as JSON. Child scripts inherit it.
 *
 * Imported first by daemon/main.ts, for its side effect.
 */
if (process.env.LANCEDB_LOG === undefined || process.env.LANCEDB_LOG === '') process.env.LANCEDB_LOG = 'off';
// Rust libraries that honour the generic variable would log the same way.
if (process.env.RUST_LOG === undefined || process.env.RUST_LOG === '') process.env.RUST_LOG = 'off';

export {};
