/**
 * Every `.bt` tool the installed bpftrace package ships parses with zero errors and survives a
 * print/parse round trip. The files are read from the system at test time, never copied here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { formatDiagnostic } from '../../../../daemon/protocol/diagnostic.js';
import { astDiff, parse, printProgram } from '../../../../daemon/verifier/frontend/index.js';
import { ALL_PROBES_AVAILABLE, runLints } from '../../../../daemon/verifier/lints/index.js';

function shippedTools(): string[] | string {
  try {
    const out = execFileSync('dpkg', ['-L', 'bpftrace'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const files = out.split('\n').filter((f) => f.endsWith('.bt'));
    return files.length > 0 ? files : 'the bpftrace package ships no .bt files';
  } catch {
    return 'dpkg or the bpftrace package is not installed';
  }
}

const tools = shippedTools();
if (typeof tools === 'string') {
  t.skip(`shipped bpftrace tools: ${tools}`);
} else {
  t.ok(tools.length >= 38, `found ${tools.length} shipped tools`);
  for (const file of tools) {
    t.test(file, async (t) => {
      const src = readFileSync(file, 'utf8');
      const first = parse(src, file);
      t.same(first.diagnostics.map((d) => formatDiagnostic(d, file, src)), [], 'parses without diagnostics');
      if (!first.program) return;
      const printed = printProgram(first.program);
      const second = parse(printed, `${file} (printed)`);
      t.same(second.diagnostics.map((d) => formatDiagnostic(d, 'printed', printed)), [], 'printed form parses');
      if (!second.program) return;
      t.equal(astDiff(first.program, second.program), undefined, 'print/parse round trip gives the same AST');
      t.equal(printProgram(second.program), printed, 'printing is idempotent');
      // The lints run on real programs without throwing; findings are listed, not asserted, except
      // biostacks' known unit slip (`@usecs = hist(nsecs - @reqts[arg0])`, no division).
      const findings = runLints(first.program, { probes: ALL_PROBES_AVAILABLE, policy: { allowUnsafe: true } });
      for (const d of findings) t.comment(formatDiagnostic(d, file, src).split('\n')[0] ?? '');
      if (/@usecs\[[^\]]*\] = hist\(nsecs - @reqts\[arg0\]\)/.test(src)) {
        t.ok(findings.some((d) => d.code === 'lint.time-unit'), 'the ns-in-@usecs histogram is reported');
      }
      t.same(findings.filter((d) => d.severity === 'error'), [], 'no lint errors with every probe type available');
    });
  }
}
