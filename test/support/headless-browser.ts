/**
 * A real headless browser for tests of rendered pages: Debian's `chromium-headless-shell`
 * (test/run-all.sh installs it as optional; tests skip with {@link headlessBrowserOrReason} when it
 * is absent). `--no-sandbox` because the tests run as root, where Chromium refuses its sandbox.
 * JavaScript stays on: headless Chromium's --dump-dom and --screenshot need it themselves (with
 * `--blink-settings=scriptEnabled=false` they write nothing, checked on Debian 12's build), so a
 * test shows a page reads without JavaScript by finding no script in the DOM the browser built.
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';

const CANDIDATES = ['/usr/bin/chromium-headless-shell', '/usr/lib/chromium/chromium-headless-shell'];

export function headlessBrowser(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}

export function headlessBrowserOrReason(): string | undefined {
  return headlessBrowser() ? undefined : 'no headless browser: apt-get install chromium-headless-shell (test/run-all.sh installs it as optional)';
}

const BASE_FLAGS = ['--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--disable-extensions', '--no-first-run'];

async function run(args: string[]): Promise<string> {
  const bin = headlessBrowser();
  if (!bin) throw new Error(headlessBrowserOrReason());
  const r = await execa('nice', [bin, ...BASE_FLAGS, ...args], { reject: false, timeout: 120_000 });
  if (r.exitCode !== 0) throw new Error(`${bin} exited ${r.exitCode}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** The DOM the browser built from the file, serialized (what it parsed, not the file's text). */
export async function dumpDom(file: string): Promise<string> {
  return run(['--dump-dom', pathToFileURL(file).href]);
}

/** A PNG screenshot of the file rendered in a window of `width` x `height`, written to `out`. */
export async function screenshot(file: string, out: string, width: number, height: number): Promise<void> {
  await run([`--window-size=${width},${height}`, `--screenshot=${out}`, pathToFileURL(file).href]);
  if (!existsSync(out)) throw new Error(`no screenshot written to ${out}`);
}
