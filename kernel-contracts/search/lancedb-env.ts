/**
 * LanceDB's Rust core logs warnings (e.g. "No existing dataset ... it will be created") to stderr
 * unless LANCEDB_LOG says otherwise, and reads it when the native module initialises. Import this
 * module before `@lancedb/lancedb` (ESM evaluates imports in order).
 */
process.env['LANCEDB_LOG'] ??= 'error';
export {};
