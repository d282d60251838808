import { readFileSync } from 'node:fs';
import { verifyProgram } from '../../daemon/verifier/verify.js';
import { goldenContracts, goldenLintContext } from '../support/golden.js';
import { runLints, type LintContext } from '../../daemon/verifier/lints/index.js';
const contracts = goldenContracts();
for (const f of (process.env.FILES ?? '').split(',')) {
  const r = await verifyProgram(readFileSync(f, 'utf8'), { fileName: f, contracts, timeoutMs: 20000, lintContext: goldenLintContext(contracts), runLints: (p, c) => runLints(p, c as LintContext) });
  console.log(f, r.verdict, JSON.stringify(r.assertions.map((a) => [a.line, a.verdict, a.reason, a.counterexample?.summary])), JSON.stringify(r.diagnostics.filter((d) => d.stage !== 'symbolic').map((d) => `${d.code}@${d.span?.line}`)));
}
