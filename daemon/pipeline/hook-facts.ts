/**
 * What the prompts say about this host and its hooks: the probe types this kernel offers (and why
 * not the others), and each fitting hook with its fields,
 * widths, signedness and byte order — facts that decide what compiles and what is correct here.
 * Guaranteed facts and hints are told apart, as the verifier tells them apart.
 */
import { isKernelGuarantee, renderCond, type ConditionSource } from '../../kernel-contracts/contracts/expr.js';
import type { Contract, ValueContract } from '../../kernel-contracts/contracts/model.js';
import { PROBE_TYPES, type ProbeType } from '../../kernel-contracts/probe-types.js';
import type { Dialect } from '../verifier/dialect/index.js';

/** The host facts the prompter states. */
export interface HostFacts {
  /** `0.17.0`. */
  readonly bpftraceVersion: string;
  /** The dialect profile programs are verified under (kgentd's choice for that bpftrace); default: the profile nearest the version. */
  readonly dialect?: Dialect;
  readonly probeAvailable: (t: ProbeType) => boolean;
  readonly probeReason: (t: ProbeType) => string;
  readonly kernelRelease: string;
}

const INTERESTING: readonly ProbeType[] = PROBE_TYPES.filter((t) => t !== 'self' && t !== 'asyncwatchpoint');

/** The probe types this kernel offers, and the ones it does not with why (for the synthesis prompt). */
export function probeTypesText(h: HostFacts): string {
  const yes = INTERESTING.filter((t) => h.probeAvailable(t));
  const no = INTERESTING.filter((t) => !h.probeAvailable(t));
  return `${yes.join(', ')}${no.length ? `. NOT available on this host (never use): ${no.map((t) => `${t} (${h.probeReason(t)})`).join('; ')}` : ''}`;
}

function valueLine(v: ValueContract, how: string): string {
  const order = v.byteOrder === 'big' ? ', network byte order: convert with bswap() before printing as a number' : '';
  const width = v.kind === 'pointer' ? `pointer to ${v.pointee ?? 'void'}` : v.dataLoc ? 'string, read with str()' : v.arrayLength !== undefined ? `array` : `${v.bits}-bit ${v.signed ? 'signed' : 'unsigned'}`;
  return `  ${how}: ${v.type} (${width}${order})`;
}

const sourceLabel = (s: ConditionSource | string): string => (isKernelGuarantee(s as ConditionSource) ? 'guaranteed' : `hint from ${s}, not guaranteed`);

/** One hook for a prompt: how a program reads each value, and what is known about them. */
export function renderHook(c: Contract, opts: { conditions?: boolean } = {}): string {
  const lines: string[] = [];
  if (c.kind === 'tracepoint') {
    const avail = c.probes.find((p) => p.probe === 'tracepoint');
    lines.push(`tracepoint:${c.category}:${c.event}${avail && !avail.available ? ` (NOT attachable here: ${avail.reason ?? 'unavailable'})` : ''}`);
    for (const f of c.fields) lines.push(valueLine(f, f.access['tracepoint'] ?? `args->${f.name}`));
  } else {
    const usable = c.probes.filter((p) => p.available).map((p) => p.probe);
    lines.push(`${c.prototype}  [${usable.length ? `attach with ${usable.join(', ')}` : 'no probe type can attach to it here'}]`);
    c.args.forEach((a, i) => lines.push(valueLine(a, `arg${i} / args->${a.name}`)));
    if (c.ret) lines.push(valueLine(c.ret, 'retval'));
  }
  if (c.doc?.summary) lines.push(`  doc: ${c.doc.summary}`);
  if (opts.conditions !== false) {
    for (const k of c.conditions) {
      if (k.source === 'type' || k.source === 'typedef') continue; // already said by the field lines
      lines.push(`  ${k.kind === 'pre' ? 'when it fires' : 'on return'}: ${renderCond(k.expr)} (${sourceLabel(k.source)})`);
    }
  }
  return lines.join('\n');
}
