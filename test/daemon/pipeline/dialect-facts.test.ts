/**
 * The bpftrace language facts the prompts give (daemon/pipeline/dialect-facts.ts): derived from the
 * dialect profile, so the prompts for 0.17, 0.23 and 0.27 differ exactly where the profiles do;
 * every piece of code they show is accepted (or, where they say not to write it, refused) by the
 * verifier's front-end and acceptance rules of that version, and by the real bpftrace of that
 * version where this host has it (test/dialects/binaries.ts; a missing one is skipped with why).
 */
import t from 'tap';
import { dialectFactsText, dialectLines, type DialectSnippet } from '../../../daemon/pipeline/dialect-facts.js';
import { comprehensionParts, synthesisParts } from '../../../daemon/pipeline/prompter.js';
import { assemblePrompt } from '../../../daemon/pipeline/assemble.js';
import { checkAcceptance } from '../../../daemon/verifier/acceptance.js';
import { nearestProfile, profile, PROFILES, type Dialect } from '../../../daemon/verifier/dialect/index.js';
import { parse } from '../../../daemon/verifier/frontend/index.js';
import { probeBinaries } from '../../dialects/binaries.js';
import { runFact } from '../../dialects/fact-run.js';

function modelAccepts(program: string, d: Dialect): { ok: boolean; why: string } {
  const parsed = parse(program, 'snippet.bt', { dialect: d });
  const errors = [...parsed.diagnostics, ...(parsed.program ? checkAcceptance(parsed.program, d) : [])].filter((x) => x.severity === 'error');
  return { ok: errors.length === 0 && parsed.program !== undefined, why: errors.map((e) => e.message).join('; ') };
}

const hostOf = (version: string, dialect?: Dialect) => ({
  bpftraceVersion: version,
  ...(dialect ? { dialect } : {}),
  kernelRelease: '6.18.0',
  probeAvailable: () => true,
  probeReason: () => '',
});

t.test('every snippet of every profile is shown in its line and judged as the line says', async (t) => {
  for (const d of PROFILES) {
    for (const line of dialectLines(d)) {
      for (const s of line.snippets) {
        t.ok(line.text.includes(s.code), `${d.version}: the line shows ${s.code}`);
        if (s.accepted) t.ok(s.program.includes(s.code), `${d.version}: the checked program holds ${s.code}`);
        const m = modelAccepts(s.program, d);
        t.equal(m.ok, s.accepted, `${d.version}: ${s.accepted ? 'accepts' : 'refuses'} ${s.code}`, { why: m.why, program: s.program });
      }
    }
  }
});

// What each profile flag makes the prompt say (the facts are the profile's, nothing else).
const FLAG_TEXT: readonly { flag: keyof Dialect; yes: string | RegExp; no: string | RegExp }[] = [
  { flag: 'letDeclarations', yes: 'declarations `let $n = 0;`', no: '`let` (just assign' },
  { flag: 'forMap', yes: 'map loops `for ($kv : @m)', no: '`for` loops (use `unroll(N)`' },
  { flag: 'configBlock', yes: '`config = { max_map_keys = 8192 }` before the probes', no: '`config = { ... }` blocks' },
  { flag: 'boolType', yes: 'bool literals `$on = true;`', no: /^(?![\s\S]*bool literals)/ },
  { flag: 'pidTid32', yes: '`pid` and `tid` are uint32', no: '`pid` and `tid` are 64-bit' },
  { flag: 'blockScoping', yes: 'reading a variable after the `if`/loop block', no: /^(?![\s\S]*reading a variable after)/ },
  { flag: 'strictVariableAssignment', yes: 'assigning a variable a wider integer', no: /^(?![\s\S]*assigning a variable a wider integer)/ },
  { flag: 'typedLetLiteralRefused', yes: '`let $b: uint8 = 7;` (cast the literal', no: /^(?![\s\S]*let \$b: uint8 = 7;)/ },
  { flag: 'exitInLoopRefused', yes: /`exit\(\)` inside a (loop|`for`) body/, no: /^(?![\s\S]*exit\(\)` inside a)/ },
  { flag: 'exitInIfInWhileAllowed', yes: 'or directly in a `while` body', no: /^(?![\s\S]*directly in a `while` body)/ },
  { flag: 'loopControlInForRefused', yes: '`break`/`continue` anywhere inside a `for` body', no: /^(?![\s\S]*`break`\/`continue` anywhere)/ },
  { flag: 'smallLiterals', yes: 'literal takes the smallest type', no: /^(?![\s\S]*smallest type)/ },
  { flag: 'subtractionSigned', yes: '`a - b` is int64', no: /^(?![\s\S]*`a - b` is int64)/ },
];

t.test('the facts follow the profile flags, for every profile', async (t) => {
  for (const d of PROFILES) {
    const text = dialectFactsText(d);
    for (const f of FLAG_TEXT) {
      const want = d[f.flag] ? f.yes : f.no;
      if (typeof want === 'string') t.ok(text.includes(want), `${d.version}: ${String(f.flag)}=${String(d[f.flag])} says ${want}`, { text });
      else t.match(text, want, `${d.version}: ${String(f.flag)}=${String(d[f.flag])}`);
    }
    if (d.forMap && !d.forRange) t.ok(text.includes('range loops `for ($i : 0..5)` (use `while`)'), `${d.version}: no range loops`);
    if (d.forRange) t.ok(text.includes('range loops `for ($i : 0..5) {'), `${d.version}: range loops offered`);
    t.ok(text.split('\n').length <= 6, `${d.version}: a few lines (${text.split('\n').length})`);
    t.ok(text.length < 1400, `${d.version}: short (${text.length} characters)`);
  }
});

t.test('the synthesis and comprehension prompts for 0.17, 0.23 and 0.27 differ as the profiles do', async (t) => {
  const prompts = new Map<string, { synthesis: string; comprehension: string }>();
  for (const version of ['0.17.0', '0.23.2', '0.27.1']) {
    const host = hostOf(version);
    const syn = assemblePrompt('synthesis', synthesisParts({ text: 'count execs', hints: [], host, hooks: [], examples: [], feedback: [] }), { numCtx: 8192, answerTokens: 1024 });
    const com = assemblePrompt('comprehension', comprehensionParts({ text: 'count execs', hints: [], host, candidate: 'BEGIN { exit(); }', hooks: [], members: [], examples: [], feedback: [] }), { numCtx: 8192, answerTokens: 1024 });
    const system = (m: typeof syn) => m.messages.map((x) => x.content).join('\n');
    prompts.set(version, { synthesis: system(syn), comprehension: system(com) });
    const d = (nearestProfile(version) as { dialect: Dialect }).dialect;
    const facts = dialectFactsText(d);
    t.ok(system(syn).includes(facts), `${version}: the synthesis prompt carries its profile's facts`);
    t.ok(system(com).includes(facts), `${version}: the comprehension prompt carries them too`);
    t.ok(system(com).includes(`bpftrace ${version}`), `${version}: the comprehension prompt names the version`);
  }
  const p = (v: string) => prompts.get(v)!.synthesis;
  t.match(p('0.17.0'), /refuses: `let`/);
  t.notMatch(p('0.17.0'), /Syntax of this version/);
  t.match(p('0.17.0'), /args->name on bpftrace 0\.17\.0/);
  t.match(p('0.23.2'), /declarations `let \$n = 0;`/);
  t.match(p('0.23.2'), /refuses: range loops/);
  t.match(p('0.23.2'), /`let \$b: uint8 = 7;` \(cast the literal/);
  t.match(p('0.23.2'), /keeps the wider width and wraps/);
  t.match(p('0.27.1'), /range loops `for \(\$i : 0\.\.5\) \{/);
  t.notMatch(p('0.27.1'), /let \$b: uint8 = 7;/, '0.27 accepts a typed let with a literal: not said');
  t.notMatch(p('0.27.1'), /assigning a variable a wider integer/, '0.27 widens variables: no refusal said');
  t.notMatch(p('0.27.1'), /Not in bpftrace/, '0.27 has every builtin kgent knows');
  t.match(p('0.17.0'), /Not in bpftrace 0\.17 \(never use\): ncpus/);
});

t.test('the dialect kgentd chose wins over the version text', async (t) => {
  const parts = synthesisParts({ text: 'x', hints: [], host: hostOf('0.29.0', profile('0.27')), hooks: [], examples: [], feedback: [] });
  t.ok(parts.fixed['dialect']?.includes(dialectFactsText(profile('0.27')!)), 'a version newer than known gets the chosen profile');
  const old = synthesisParts({ text: 'x', hints: [], host: hostOf('0.16.0'), hooks: [], examples: [], feedback: [] });
  t.ok(old.fixed['dialect']?.includes(dialectFactsText(profile('0.17')!)), 'an unmodelled older version gets 0.17 (what kgent verifies under)');
});

t.test('every snippet compiles, or is refused, on the real bpftrace of its version', async (t) => {
  t.setTimeout(10 * 60_000);
  for (const probe of probeBinaries()) {
    if (!probe.ok) {
      t.skip(`${probe.source}: ${probe.reason}`);
      continue;
    }
    const { bin } = probe;
    const choice = nearestProfile(bin.version);
    if (choice.kind === 'unsupported') {
      t.skip(`${bin.path} ${bin.version}: ${choice.reason}`);
      continue;
    }
    const d = choice.dialect;
    // 0.17 has no --dry-run: its snippets run (each exits in BEGIN); newer ones only compile and load.
    const args = bin.version.startsWith('0.17.') ? [] : ['--dry-run'];
    const seen = new Set<string>();
    const snippets: DialectSnippet[] = dialectLines(d).flatMap((l) => l.snippets).filter((s) => !seen.has(s.program) && seen.add(s.program));
    for (const s of snippets) {
      const out = await runFact(bin.path, { id: 'snippet', about: s.code, finding: '', program: s.program, args, outcomes: {} });
      t.equal(out.compiles, s.accepted, `bpftrace ${bin.version} ${s.accepted ? 'compiles' : 'refuses'} ${s.code}`, { error: out.error, stderr: out.stderr, program: s.program });
    }
  }
});
