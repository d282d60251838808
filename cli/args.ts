/**
 * Option parsing for every kgentctl command: node:util's parseArgs, with its errors said in one
 * line of ours (its own text spans lines and suggests syntax kgentctl does not document), and a
 * value that starts with a dash taken as the value of an option that wants one (`logs 1 -n -5`
 * reaches the command's own check, which says what the option wants).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, ExitCode } from './exit-codes.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs with `strict` and positionals; a bad line is a usage CliError naming `command`'s help. */
export function parseCommandArgs<O extends Options>(args: readonly string[], options: O, command: string) {
  const config = { args: joinDashValues(args, options), options, allowPositionals: true, strict: true } as const;
  try {
    return parseArgs(config);
  } catch (err) {
    throw new CliError(ExitCode.Usage, `${argsErrorText(err as Error)}; see kgentctl ${command ? `${command} ` : ''}--help`);
  }
}

/** `-n -5` -> `--lines=-5` when `-5` is not itself an option: the user meant it as the value. */
export function joinDashValues(args: readonly string[], options: Options): string[] {
  const byName = new Map<string, string>();
  for (const [long, o] of Object.entries(options)) {
    byName.set(`--${long}`, long);
    if (o.short) byName.set(`-${o.short}`, long);
  }
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const long = byName.get(a);
    const next = args[i + 1];
    if (long && options[long]!.type === 'string' && next !== undefined && next.startsWith('-') && next !== '--' && !byName.has(next.split('=')[0]!)) {
      out.push(`--${long}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** parseArgs' error in one line. */
export function argsErrorText(err: Error): string {
  const m = err.message;
  let r: RegExpExecArray | null;
  if ((r = /^Unknown option '([^']+)'/.exec(m))) return `unknown option ${r[1]}`;
  if ((r = /^Option '([^']+?)(?: <value>)?' argument missing/.exec(m))) return `${r[1]!.replace(/, /, ' / ')} needs a value`;
  if ((r = /^Option '([^']+)' does not take an argument/.exec(m))) return `${r[1]} takes no value`;
  if ((r = /^Unexpected argument '([^']+)'/.exec(m))) return `unexpected argument "${r[1]}"`;
  return m.split('\n')[0]!.replace(/\.$/, '');
}
