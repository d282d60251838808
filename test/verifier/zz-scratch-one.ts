import { verifyProgram } from '../../daemon/verifier/verify.js';
import { goldenContracts, goldenVerifyOptions, loadGoldenCases } from '../support/golden.js';
const want = (process.env.CASES ?? '').split(',');
const contracts = goldenContracts();
for (const c of loadGoldenCases().filter((c) => want.includes(c.id))) {
  const t0 = performance.now();
  const r = await verifyProgram(c.source, goldenVerifyOptions(c, contracts, { timeoutMs: Number(process.env.TMO ?? 10000) }));
  console.log(c.id, (performance.now() - t0).toFixed(0), 'ms', JSON.stringify({ verdict: r.verdict, assertions: r.assertions, diagnostics: r.diagnostics.map((d) => `${d.severity} ${d.code}@${d.span?.line}: ${d.message}`), timings: r.timings }, null, 1));
}
