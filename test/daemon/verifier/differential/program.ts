/**
 * Program text of a case, for bpftrace (many cases in one program, inputs set in BEGIN) and for
 * the executor (one case, inputs set at the top of its probe, an `assert(printed(J) == ...)` after
 * each printf so that concrete mode can read each printed value).
 */
import { eventsProgram, probeLine } from './gen-events.js';
import type { Case, Node } from './generator.js';

/** Where the cases run: the libc the runner's own process uses, and its pid. */
export interface RunEnv {
  readonly libc: string;
  readonly pid: number;
}

function printf(c: Case, n: Extract<Node, { t: 'print' }>): string {
  const fmt = n.args.map((a) => `${a.conv}|`).join('');
  return `printf("c${c.id}.${n.k}=${fmt}\\n", ${n.args.map((a) => a.expr).join(', ')});`;
}

function render(c: Case, nodes: readonly Node[], withAsserts: boolean): string {
  return nodes
    .map((n) => {
      switch (n.t) {
        case 'stmt':
          return n.text;
        case 'print': {
          const asserts = withAsserts ? n.args.map((a, j) => ` assert(printed(${j}) == ${a.kind === 'str' ? '""' : '0'});`).join('') : '';
          return printf(c, n) + asserts;
        }
        case 'if':
          return `if (${n.cond}) { ${render(c, n.then, withAsserts)} }${n.else ? ` else { ${render(c, n.else, withAsserts)} }` : ''}`;
      }
    })
    .join(' ');
}

/**
 * The probe (attach point and predicate) a case runs in. `guard` (bpftrace only) adds a map set at
 * the end of BEGIN: two bpftrace processes may be attached at once, and a trigger meant for one
 * must not run the other's cases before its BEGIN has set their inputs.
 */
export function probeHeader(c: Case, env: RunEnv, guard = ''): string {
  const g = guard ? ` && ${guard}` : '';
  if (c.trigger.kind === 'getenv') return `uprobe:${env.libc}:getenv /pid == ${env.pid}${g} && str(arg0) == "${c.trigger.name}"/`;
  return `uprobe:${env.libc}:getppid /pid == ${env.pid}${g}/`;
}

const READY = '@kgd_ready';
const ONCE = '@kgd_once';

/** Printed values of a case in order of appearance: printf k, argument j. */
export function printSlots(c: Case): { k: number; j: number }[] {
  const out: { k: number; j: number }[] = [];
  const walk = (ns: readonly Node[]): void => {
    for (const n of ns) {
      if (n.t === 'print') n.args.forEach((_, j) => out.push({ k: n.k, j }));
      else if (n.t === 'if') {
        walk(n.then);
        if (n.else) walk(n.else);
      }
    }
  };
  walk(c.body);
  return out;
}

/** A bpftrace program running `cases`; `lineCase[i]` is the case on line i+1 (or -1). */
export function bpftraceProgram(cases: readonly Case[], env: RunEnv): { text: string; lineCase: number[] } {
  const lines: string[] = [];
  const lineCase: number[] = [];
  const add = (s: string, id: number): void => {
    lines.push(s);
    lineCase.push(id);
  };
  add('BEGIN {', -1);
  for (const c of cases) if (c.inputs.length > 0) add(`  ${c.inputs.join(' ')}`, c.id);
  for (const c of cases) if (c.events && c.events.begin.length > 0) add(`  ${c.events.begin.join(' ')}`, c.id);
  add(`  ${READY} = 1; printf("READY\\n");`, -1);
  add('}', -1);
  // Class `events`: the case's probes, each guarded to run on one getppid() call only (the first
  // after READY); the end line comes from a uretprobe listed after them, the call's last event.
  for (const c of cases) {
    if (!c.events) continue;
    const once = `@kgd_once_${c.id}`;
    const guard = `${READY} == 1 && ${once} == 0`;
    for (const p of c.events.probes) add(probeLine(c.id, p, env, guard), c.id);
    add(`uretprobe:${env.libc}:getppid /pid == ${env.pid} && ${guard}/ { ${once} = 1; printf("c${c.id}.end\\n"); }`, c.id);
  }
  const ends = cases.filter((c) => c.events && c.events.end.length > 0);
  if (ends.length > 0) {
    add('END {', -1);
    for (const c of ends) add(`  ${c.events?.end.join(' ')}`, c.id);
    add('}', -1);
  }
  // Each case runs once: while one bpftrace process triggers its probes, the other one's may be
  // attached and ready too, so a getppid() can fire a case twice, and the lines of two
  // invocations on different CPUs may come out in either order (a map updated twice showed).
  for (const c of cases) if (!c.events) add(`${probeHeader(c, env, `${READY} && ${ONCE}[${c.id}] == 0`)} { ${ONCE}[${c.id}] = 1; ${render(c, c.body, false)} printf("c${c.id}.end\\n"); }`, c.id);
  return { text: lines.join('\n') + '\n', lineCase };
}

/** The one-case program bpftrace runs to reproduce a case by hand (inputs in BEGIN). */
export function reproProgram(c: Case, env: RunEnv, body: readonly Node[] = c.body, withAsserts = false): string {
  if (c.events) return `${c.events.mapKeysMax ? `// BPFTRACE_MAP_KEYS_MAX=${c.events.mapKeysMax}\n` : ''}${eventsProgram(c.id, c.events, env)}`;
  const begin = c.inputs.length > 0 ? `BEGIN { ${c.inputs.join(' ')} }\n` : '';
  return `${begin}${probeHeader(c, env)} { ${render(c, body, withAsserts)} }\n`;
}

/**
 * The program the executor runs in concrete mode: the same BEGIN (it types the input maps), the
 * case's probe with an assert after each printf. The case reads the inputs as map contents from
 * before its invocation, which concrete mode assigns; writing them in the case's own probe would
 * not do: a value stored and read back in one invocation is a different program for bpftrace.
 */
export function executorProgram(c: Case, env: RunEnv): string {
  return reproProgram(c, env, c.body, true);
}
