/**
 * Lint: an entry/exit pair that stores into a map keyed by `tid`/`pid` in the entry probe, reads it
 * in the matching exit probe, and never `delete`s the entry (warning). Each thread that ever ran
 * the entry leaves a key behind until the map is full, and then new entries are silently dropped.
 */
import type { Diagnostic } from '../../protocol/diagnostic.js';
import type { AttachPoint, MapAccess, Node, Probe, Stmt } from '../frontend/ast.js';
import { printAttachPoints } from '../frontend/printer.js';
import { walk } from '../frontend/walk.js';
import type { LintContext, LintPass } from './context.js';

function keyedByThread(m: MapAccess): string | undefined {
  let found: string | undefined;
  for (const k of m.keys) {
    walk(k, {
      enter(n) {
        if (!found && n.kind === 'Builtin' && (n.name === 'tid' || n.name === 'pid')) found = n.name;
      },
    });
  }
  return found;
}

/**
 * `*` and `?` wildcards, matched without a RegExp: `.*a.*a.*a...` built from a client's attach
 * point backtracks exponentially. Greedy with one backtrack point: O(pattern x text).
 */
function glob(pattern: string, s: string): boolean {
  let p = 0;
  let i = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === s[i])) {
      p++;
      i++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = i;
    } else if (star >= 0) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

function sameName(a: string, b: string): boolean {
  return glob(a, b) || glob(b, a);
}

const RETURN_OF: Readonly<Record<string, string>> = { kprobe: 'kretprobe', uprobe: 'uretprobe', kfunc: 'kretfunc' };

function pairs(entry: AttachPoint, exit: AttachPoint): boolean {
  const ret = RETURN_OF[entry.provider];
  if (ret && exit.provider === ret) {
    const fa = entry.target[entry.target.length - 1] ?? '';
    const fb = exit.target[exit.target.length - 1] ?? '';
    const binA = entry.target.length > 1 ? (entry.target[0] ?? '') : '';
    const binB = exit.target.length > 1 ? (exit.target[0] ?? '') : '';
    return sameName(fa, fb) && sameName(binA, binB);
  }
  if (entry.provider === 'tracepoint' && exit.provider === 'tracepoint') {
    const ea = entry.target[1] ?? '';
    const eb = exit.target[1] ?? '';
    for (const [enter, leave] of [['sys_enter_', 'sys_exit_'], ['_enter', '_exit'], ['_entry', '_exit'], ['_start', '_end'], ['_begin', '_end']] as const) {
      if (ea.startsWith(enter) && eb.startsWith(leave) && sameName(ea.slice(enter.length), eb.slice(leave.length))) return true;
      if (ea.endsWith(enter) && eb.endsWith(leave) && sameName(ea.slice(0, -enter.length), eb.slice(0, -leave.length))) return true;
    }
  }
  return false;
}

function returnLike(ap: AttachPoint): boolean {
  if (ap.provider === 'kretprobe' || ap.provider === 'uretprobe' || ap.provider === 'kretfunc') return true;
  const ev = ap.target[1] ?? '';
  return ap.provider === 'tracepoint' && (ev.startsWith('sys_exit') || /_(exit|return|done|complete|end)$/.test(ev));
}

function isExitOf(entry: Probe, exit: Probe): boolean {
  for (const a of entry.attachPoints) for (const b of exit.attachPoints) if (pairs(a, b)) return true;
  return exit.attachPoints.some(returnLike);
}

interface ProbeMaps {
  writes: { map: MapAccess; stmt: Stmt; key: string }[];
  reads: Set<string>;
  deletes: Set<string>;
}

function scan(probe: Probe): ProbeMaps {
  const res: ProbeMaps = { writes: [], reads: new Set(), deletes: new Set() };
  const lifecycleProbe = probe.attachPoints.every((a) => a.provider === 'END' || a.provider === 'BEGIN');
  const targets = new Set<Node>();
  walk(probe, {
    enter(n, ancestors) {
      if (n.kind === 'AssumeStmt' || n.kind === 'AssertStmt') return false;
      if (n.kind === 'AssignStmt' && n.target.kind === 'Map') {
        targets.add(n.target);
        const key = keyedByThread(n.target);
        if (key) res.writes.push({ map: n.target, stmt: n, key });
        if (n.op !== '=') res.reads.add(n.target.name);
      } else if (n.kind === 'Call') {
        const first = n.args[0];
        if (first?.kind === 'Map') {
          if (n.callee === 'delete') res.deletes.add(first.name);
          if ((n.callee === 'clear' || n.callee === 'zero') && !lifecycleProbe) res.deletes.add(first.name);
          if (n.callee === 'delete' || n.callee === 'clear' || n.callee === 'zero') targets.add(first);
        }
      } else if (n.kind === 'Map' && !targets.has(n)) {
        const parent = ancestors[ancestors.length - 1];
        if (!(parent?.kind === 'Update')) res.reads.add(n.name);
      }
      return undefined;
    },
  });
  return res;
}

export function entryExitDeleteLint(_ctx: LintContext): LintPass {
  return {
    name: 'entry-exit-delete',
    run(program) {
      const out: Diagnostic[] = [];
      const scans = program.probes.map(scan);
      const deleted = new Set<string>();
      for (const s of scans) for (const d of s.deletes) deleted.add(d);
      const reported = new Set<string>();
      program.probes.forEach((entry, i) => {
        for (const w of scans[i]?.writes ?? []) {
          const name = w.map.name;
          if (deleted.has(name) || reported.has(name)) continue;
          const j = program.probes.findIndex((exit, k) => k !== i && (scans[k]?.reads.has(name) ?? false) && isExitOf(entry, exit));
          const exit = program.probes[j];
          if (!exit) continue;
          reported.add(name);
          out.push({
            code: 'lint.map-never-deleted',
            severity: 'warning',
            stage: 'lint',
            message:
              `${name} is keyed by ${w.key} in ${printAttachPoints(entry.attachPoints)} and read in ` +
              `${printAttachPoints(exit.attachPoints)}, but its entries are never deleted: the map grows with every ${w.key === 'tid' ? 'thread' : 'process'} until it is full`,
            span: w.stmt.span,
            hints: [`delete the entry in the exit probe once it is read: delete(${name}[${w.key}]);`],
          });
        }
      });
      return out;
    },
  };
}
