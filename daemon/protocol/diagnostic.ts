/**
 * Diagnostics: problems found in a *program* (syntax, lint, verifier, kernel verifier).
 * Operational failures are {@link KgentError}s instead. Diagnostics cross the socket, so they live
 * with the protocol and hold only plain data.
 */

/** A 1-based line:column range in one source text; `endColumn` is inclusive, like bpftrace's `1:25-31`. */
export interface Span {
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
}

export type Severity = 'error' | 'warning' | 'note';

/** Which stage of the pipeline produced a diagnostic. */
export type DiagnosticStage = 'parse' | 'lint' | 'guard' | 'symbolic' | 'kernel' | 'policy' | 'probe';

export interface Diagnostic {
  /** Stable machine-readable code, e.g. `parse.unexpected-token`, `kernel.verifier-rejected`. */
  readonly code: string;
  readonly severity: Severity;
  readonly stage: DiagnosticStage;
  readonly message: string;
  readonly span?: Span;
  readonly hints?: readonly string[];
  /** Extra detail for logs and `--json` (e.g. the kernel verifier's full log). */
  readonly detail?: string;
}

/** Renders a diagnostic the way bpftrace does: `FILE:LINE:COL-COL: ERROR: message`, source line, `~~~` underline. */
export function formatDiagnostic(d: Diagnostic, fileName: string, source?: string): string {
  const sev = d.severity.toUpperCase();
  const lines: string[] = [];
  if (d.span) {
    const { line, column, endLine, endColumn } = d.span;
    const range = endLine === line ? `${column}-${endColumn}` : `${column}-${endLine}:${endColumn}`;
    lines.push(`${fileName}:${line}:${range}: ${sev}: ${d.message}`);
    const srcLine = source?.split('\n')[line - 1];
    if (srcLine !== undefined) {
      lines.push(srcLine);
      const last = endLine === line ? endColumn : srcLine.length;
      const width = Math.max(1, last - column + 1);
      lines.push(' '.repeat(Math.max(0, column - 1)) + '~'.repeat(width));
    }
  } else {
    lines.push(`${fileName}: ${sev}: ${d.message}`);
  }
  for (const h of d.hints ?? []) lines.push(`HINT: ${h}`);
  return lines.join('\n');
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}
