/**
 * Robustness: the executor runs every tool the installed bpftrace package ships (read at test
 * time from /usr/sbin, never copied) without an internal error, and the verifier gives each, with
 * an assertion appended to every probe, a verdict it can stand behind.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { recordedContractProvider } from '../../../support/recorded-contracts.js';
import type { AssertStmt, Expr, Program, Span } from '../../../../daemon/verifier/frontend/ast.js';
import { parse, printProgram } from '../../../../daemon/verifier/frontend/index.js';
import { TermBuilder } from '../../../../daemon/verifier/smt/term.js';
import { ContractCache } from '../../../../daemon/verifier/symbolic/contract-cache.js';
import { Executor } from '../../../../daemon/verifier/symbolic/executor.js';
import { verifyProgram } from '../../../../daemon/verifier/verify.js';

function shippedTools(): string[] {
  try {
    return execFileSync('dpkg', ['-L', 'bpftrace'], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => f.endsWith('.bt'));
  } catch {
    return [];
  }
}

const tools = shippedTools();
const contracts = recordedContractProvider(join(import.meta.dirname, '../../../fixtures/verifier/formats'));
const SPAN: Span = { line: 1, column: 1, endLine: 1, endColumn: 1 };

/** Appends `assert(pid == pid + 0 || nsecs > 0);`-style checks: one per probe, over builtins. */
function withAssertions(p: Program): Program {
  const expr: Expr = {
    kind: 'Binary',
    op: '>=',
    left: { kind: 'Builtin', name: 'nsecs', span: SPAN },
    right: { kind: 'Integer', value: 0n, raw: '0', span: SPAN },
    span: SPAN,
  };
  const assertion: AssertStmt = { kind: 'AssertStmt', expr, span: SPAN };
  return { ...p, probes: p.probes.map((pr) => ({ ...pr, body: { ...pr.body, statements: [...pr.body.statements, assertion] } })) };
}

t.test('shipped bpftrace tools', { skip: tools.length === 0 ? 'bpftrace package (dpkg -L bpftrace) not installed' : false }, async (t) => {
  for (const file of tools) {
    const src = readFileSync(file, 'utf8');
    const parsed = parse(src, file);
    if (!parsed.program) {
      t.fail(`${file} does not parse`);
      continue;
    }
    t.doesNotThrow(() => new Executor(new TermBuilder(), { contracts: new ContractCache(contracts) }).run(parsed.program as Program), `executor runs ${file}`);
    const annotated = printProgram(withAssertions(parsed.program));
    const r = await verifyProgram(annotated, { contracts, timeoutMs: 2000 });
    t.notOk(
      r.diagnostics.some((d) => d.code === 'symbolic.internal-error'),
      `${file}: no internal error ${r.diagnostics.map((d) => d.message).join('; ')}`,
    );
    // `nsecs >= 0` is unsigned and holds for any program: trivial, or unknown where paths were cut.
    t.ok(['unannotated', 'unknown', 'invalid'].includes(r.verdict), `${file}: ${r.verdict}`);
    if (r.verdict === 'invalid') t.ok(r.diagnostics.every((d) => d.stage !== 'symbolic'), `${file}: invalid only through guards`);
  }
});
