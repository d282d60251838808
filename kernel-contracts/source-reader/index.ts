/**
 * Source reader: for a kernel tree (a configured path, `/usr/src/linux-*` by default), finds a
 * function's definition, the comment block directly above it (kernel-doc parsed into summary,
 * params, return, context) and its body.
 *
 * The tree is not read eagerly per lookup: {@link SourceReader.buildIndex} scans it once into a
 * name -> file:line index (with the kernel-doc summary, so a contract build gets doc summaries
 * for every function without re-reading files). The index can be saved and reloaded.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { extractBlock, scanFunctions, type ScannedFunction } from './c-scan.js';
import { isKernelDoc, parseKernelDoc, stripCommentDecoration, type KernelDoc } from './kernel-doc.js';

export type { KernelDoc, KernelDocParam } from './kernel-doc.js';
export { parseKernelDoc, isKernelDoc } from './kernel-doc.js';

/** One indexed definition. `file` is relative to the tree root; lines are 1-based. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  /** kernel-doc summary when the definition has a kernel-doc comment. */
  readonly summary?: string;
}

/** What the reader knows about one function. */
export interface FunctionSource {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  /** The full signature as written (joined onto one line). */
  readonly signature: string;
  /** The raw comment block directly above the definition, if any. */
  readonly comment: string | undefined;
  /** Parsed kernel-doc, when the comment is a `/** ... *\/` block. */
  readonly doc: KernelDoc | undefined;
  /** Plain text of a non-kernel-doc comment. */
  readonly commentText: string | undefined;
  /** The body from `{` to `}` (capped at 64 KiB). */
  readonly body: string | undefined;
}

/** Serialisable index, to persist between daemon runs. */
export interface SourceIndexData {
  readonly version: 1;
  readonly root: string;
  /** `stat(root/Makefile).mtimeMs` when built, to notice a replaced tree. */
  readonly stamp: number;
  readonly files: readonly string[];
  /** name -> [fileIndex, line, summary?][] */
  readonly entries: Readonly<Record<string, readonly (readonly [number, number, string?])[]>>;
}

export interface SourceIndexStats {
  readonly root: string;
  readonly files: number;
  readonly functions: number;
  readonly documented: number;
  readonly buildMs: number;
}

export interface BuildIndexOptions {
  /** Only these subdirectories (relative to the root). Default: the whole tree. */
  readonly subdirs?: readonly string[];
  /** Called every ~500 files. */
  readonly onProgress?: (filesDone: number) => void;
}

const SKIP_DIRS = new Set(['.git', 'Documentation', 'tools', 'scripts', 'samples', 'LICENSES', 'usr', 'debian']);

/** The default tree: the newest `/usr/src/linux-*` *directory* holding a kernel Makefile. */
export function findDefaultSourceTree(base = '/usr/src'): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(base);
  } catch {
    return undefined;
  }
  const dirs = names
    .filter((n) => n.startsWith('linux-') && !n.startsWith('linux-headers') && !n.startsWith('linux-config'))
    .map((n) => path.join(base, n))
    .filter((p) => {
      try {
        return fs.statSync(p).isDirectory() && fs.existsSync(path.join(p, 'Makefile')) && fs.existsSync(path.join(p, 'kernel'));
      } catch {
        return false;
      }
    })
    .sort();
  return dirs.at(-1);
}

/** Reads functions from one kernel source tree. */
export class SourceReader {
  readonly root: string;
  private files: string[] = [];
  private entries = new Map<string, [number, number, string?][]>();
  private stats_: SourceIndexStats | undefined;
  private fileCache = new Map<string, { text: string; scanned: ScannedFunction[]; lineStarts: number[] }>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** True once an index has been built or loaded. */
  get indexed(): boolean {
    return this.stats_ !== undefined;
  }

  /** Scans the tree (`.c` and `.h` files) into the name -> location index. */
  async buildIndex(opts: BuildIndexOptions = {}): Promise<SourceIndexStats> {
    const t0 = performance.now();
    const files: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      let ents: fs.Dirent[];
      try {
        ents = await fsp.readdir(path.join(this.root, rel), { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of ents) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (!SKIP_DIRS.has(e.name) || rel !== '') await walk(r);
        } else if (e.isFile() && (e.name.endsWith('.c') || e.name.endsWith('.h'))) files.push(r);
      }
    };
    if (opts.subdirs?.length) for (const s of opts.subdirs) await walk(s.replace(/\/+$/, ''));
    else await walk('');
    files.sort();
    this.files = files;
    this.entries = new Map();
    let documented = 0;
    let functions = 0;
    const queue = files.map((f, i) => [f, i] as const);
    let done = 0;
    const worker = async (): Promise<void> => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const [file, idx] = item;
        let text: string;
        try {
          text = await fsp.readFile(path.join(this.root, file), 'latin1');
        } catch {
          continue;
        }
        for (const fn of scanFunctions(text)) {
          const summary = fn.comment && looksLikeDoc(fn.comment, fn.name) ? parseKernelDoc(fn.comment).summary || undefined : undefined;
          const entry: [number, number, string?] = summary ? [idx, fn.line, summary] : [idx, fn.line];
          const list = this.entries.get(fn.name);
          if (list) list.push(entry);
          else this.entries.set(fn.name, [entry]);
          functions++;
          if (summary) documented++;
        }
        if (++done % 500 === 0) opts.onProgress?.(done);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    this.stats_ = { root: this.root, files: files.length, functions, documented, buildMs: performance.now() - t0 };
    return this.stats_;
  }

  /** The index as plain data (to save as JSON). */
  toIndexData(): SourceIndexData {
    return { version: 1, root: this.root, stamp: treeStamp(this.root), files: this.files, entries: Object.fromEntries(this.entries) };
  }

  /** Loads a saved index; returns false (and loads nothing) when it belongs to another or a changed tree. */
  loadIndexData(data: SourceIndexData): boolean {
    if (data.version !== 1 || path.resolve(data.root) !== this.root || data.stamp !== treeStamp(this.root)) return false;
    this.files = [...data.files];
    this.entries = new Map(Object.entries(data.entries).map(([k, v]) => [k, v.map((e) => [...e] as [number, number, string?])]));
    let functions = 0;
    let documented = 0;
    for (const list of this.entries.values()) {
      functions += list.length;
      documented += list.filter((e) => e[2]).length;
    }
    this.stats_ = { root: this.root, files: this.files.length, functions, documented, buildMs: 0 };
    return true;
  }

  stats(): SourceIndexStats | undefined {
    return this.stats_;
  }

  /** Names in the index. */
  names(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Index locations of a function (possibly several: static functions share names). Documented ones first, `.c` before `.h`. */
  locate(name: string): SourceLocation[] {
    const list = this.entries.get(name) ?? [];
    return list
      .map(([fi, line, summary]) => (summary ? { file: this.files[fi]!, line, summary } : { file: this.files[fi]!, line }))
      .sort((a, b) => Number(!!b.summary) - Number(!!a.summary) || Number(a.file.endsWith('.h')) - Number(b.file.endsWith('.h')));
  }

  /** The kernel-doc summary from the index, without reading any file. */
  summary(name: string): string | undefined {
    return this.locate(name)[0]?.summary;
  }

  /** Reads the definition, comment and body of a function; undefined when not in the index. */
  async lookup(name: string): Promise<FunctionSource | undefined> {
    const loc = this.locate(name)[0];
    if (!loc) return undefined;
    const { text, scanned } = await this.readScanned(loc.file);
    const fns = scanned.filter((f) => f.line === loc.line);
    const fn = fns.find((f) => f.name === name) ?? fns[0];
    if (!fn) return undefined;
    const { lineStarts } = await this.readScanned(loc.file);
    const at = (line: number): number => lineStarts[line - 1] ?? text.length;
    const signature = text
      .slice(at(fn.line), at(fn.braceLine))
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
    const offset = at(fn.braceLine);
    const body = extractBlock(text, offset);
    const kdoc = fn.comment && looksLikeDoc(fn.comment, name) ? parseKernelDoc(fn.comment) : undefined;
    const commentText =
      fn.comment && !kdoc
        ? stripCommentDecoration(fn.comment)
            .map((l) => l.trim())
            .join(' ')
            .trim()
        : undefined;
    return { name, file: loc.file, line: loc.line, signature, comment: fn.comment, doc: kdoc, commentText, body };
  }

  // A few recently read files with their scan, so looking up many functions of one file (a
  // build walks them in file order) reads and scans it once.
  private async readScanned(rel: string): Promise<{ text: string; scanned: ScannedFunction[]; lineStarts: number[] }> {
    const hit = this.fileCache.get(rel);
    if (hit !== undefined) return hit;
    const text = await fsp.readFile(path.join(this.root, rel), 'latin1');
    const lineStarts = [0];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
    const entry = { text, scanned: scanFunctions(text), lineStarts };
    if (this.fileCache.size >= 16) this.fileCache.delete(this.fileCache.keys().next().value as string);
    this.fileCache.set(rel, entry);
    return entry;
  }
}

/**
 * A `/** *\/` block, or a plain `/* *\/` block written in kernel-doc shape (`name - summary` on
 * its first line): much of the kernel documents functions that way without the second star.
 */
function looksLikeDoc(comment: string, name: string): boolean {
  if (isKernelDoc(comment)) return true;
  const first = stripCommentDecoration(comment).find((l) => l.trim() !== '');
  return first !== undefined && new RegExp(`^\\s*${name}(\\(\\))?\\s+-`).test(first);
}

function treeStamp(root: string): number {
  try {
    return Math.round(fs.statSync(path.join(root, 'Makefile')).mtimeMs);
  } catch {
    return 0;
  }
}
