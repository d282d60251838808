/**
 * Kernel function names, for kprobe targets: ftrace's list of traceable functions
 * (available_filter_functions), else kallsyms' text symbols; and the functions kprobes refuse
 * (the kprobes blacklist in debugfs).
 */
import type { KernelHost } from './host.js';

/** What is known about kernel function names (for kprobe targets). */
export interface KernelFunctionList {
  /** Where names come from: ftrace's list of traceable functions, kallsyms, or nothing. */
  readonly source: 'available_filter_functions' | '/proc/kallsyms' | 'none';
  /** Number of distinct names known. */
  readonly count: number;
  /** available_filter_functions: readable, and when not, why (`EPERM: operation not permitted`). */
  readonly filterFunctions: { readonly readable: boolean; readonly count?: number; readonly error?: string };
}

export interface KernelFunctionNames {
  readonly list: KernelFunctionList;
  /** The names, when a list could be read (and names were asked for). */
  readonly names: Set<string> | undefined;
  /** Set when the kernel refuses function tracing itself: the file and its error. */
  readonly ftraceRefused: string | undefined;
}

/**
 * Reads available_filter_functions (always: its readability is evidence for kprobes and kfunc)
 * and, when `wanted`, keeps its names, falling back to kallsyms when it is unreadable.
 */
export async function readKernelFunctionNames(host: KernelHost, tracefs: string | undefined, wanted: boolean): Promise<KernelFunctionNames> {
  let filterFunctions: KernelFunctionList['filterFunctions'] = { readable: false, error: 'tracefs not mounted' };
  let names: Set<string> | undefined;
  let source: KernelFunctionList['source'] = 'none';
  let ftraceRefused: string | undefined;
  if (tracefs) {
    const r = await host.tryRead(`${tracefs}/available_filter_functions`);
    if (r.ok) {
      const found = new Set<string>();
      for (const line of r.data.toString('utf8').split('\n')) {
        const sp = line.indexOf(' ');
        const n = sp < 0 ? line.trim() : line.slice(0, sp);
        if (n) found.add(n);
      }
      filterFunctions = { readable: true, count: found.size };
      if (wanted) {
        names = found;
        source = 'available_filter_functions';
      }
    } else {
      filterFunctions = { readable: false, error: `${r.code}: ${errnoText(r.code)}` };
      // EPERM/ENODEV mean the kernel refuses function tracing itself (lockdown, ftrace disabled);
      // EACCES/ENOENT only mean we cannot see the list.
      if (r.code === 'EPERM' || r.code === 'ENODEV') ftraceRefused = `${tracefs}/available_filter_functions: ${filterFunctions.error}`;
    }
  }
  if (!names && wanted) {
    const ks = await host.readText('/proc/kallsyms');
    const found = ks !== undefined ? kallsymsTextSymbols(ks) : undefined;
    if (found && found.size > 0) {
      names = found;
      source = '/proc/kallsyms';
    }
  }
  return { list: { source, count: names?.size ?? 0, filterFunctions }, names, ftraceRefused };
}

/** Text (function) symbols of /proc/kallsyms. */
function kallsymsTextSymbols(ks: string): Set<string> {
  const names = new Set<string>();
  // "ffffffff81000000 T name\t[module]" lines; scanned in place (5 MB, ~190k lines).
  let pos = 0;
  while (pos < ks.length) {
    let eol = ks.indexOf('\n', pos);
    if (eol < 0) eol = ks.length;
    const a = ks.indexOf(' ', pos);
    if (a >= 0 && a + 3 < eol) {
      const t = ks.charCodeAt(a + 1);
      // 'T' or 't': text (function) symbols.
      if ((t === 84 || t === 116) && ks.charCodeAt(a + 2) === 32) {
        // Search for the tab within this line only: an unbounded indexOf would scan the file.
        const rest = ks.slice(a + 3, eol);
        const tab = rest.indexOf('\t');
        const n = tab >= 0 ? rest.slice(0, tab) : rest;
        if (n) names.add(n);
      }
    }
    pos = eol + 1;
  }
  return names;
}

/** Functions kprobes refuse ("0xstart-0xend\tname" lines); undefined when the list is unreadable. */
export async function readKprobeBlacklist(host: KernelHost): Promise<Set<string> | undefined> {
  const bl = await host.readText('/sys/kernel/debug/kprobes/blacklist');
  if (bl === undefined) return undefined;
  const blacklist = new Set<string>();
  for (const line of bl.split('\n')) {
    const n = line.split('\t')[1]?.trim();
    if (n) blacklist.add(n);
  }
  return blacklist;
}

function errnoText(code: string): string {
  switch (code) {
    case 'EPERM':
      return 'operation not permitted';
    case 'EACCES':
      return 'permission denied';
    case 'ENOENT':
      return 'no such file';
    case 'ENODEV':
      return 'no such device (ftrace disabled)';
    default:
      return code;
  }
}
