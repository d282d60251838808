/**
 * A failed tool call as an agent reads it: one line saying what was refused or failed and what to
 * do next, in an MCP tool result with `isError` (so the model sees it and can act, rather than the
 * client treating it as a transport failure). The details stay in kgentd's journal.
 */
import { ErrorCodes, type LibraryExample } from '../../daemon/protocol/index.js';
import { RpcError } from '../client.js';
import { CliError } from '../exit-codes.js';

export interface ToolText {
  readonly [key: string]: unknown;
  readonly content: { type: 'text'; text: string }[];
  readonly isError?: boolean;
  readonly structuredContent?: Record<string, unknown>;
}

/** Collapses a message to one line (an agent's context is better spent on what to do). */
export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, '; ').replace(/\s+/g, ' ').trim();
}

/** What to add to kgentd's own message, by the kind of failure, for an agent. */
function whatToDo(e: RpcError): string {
  switch (e.code) {
    case ErrorCodes.NotFound:
      return 'call list to see the ids you may use';
    case ErrorCodes.Unavailable: {
      const library = ((e.data as { library?: LibraryExample[] } | undefined)?.library ?? []).slice(0, 3);
      return library.length > 0
        ? `the closest verified programs of the library (${library.map((x) => x.id).join(', ')}) are in structuredContent.library: check one with the check tool, a person runs it`
        : '';
    }
    default:
      return '';
  }
}

/** The tool result of a refused or failed call. */
export function refusal(tool: string, err: unknown): ToolText {
  let line: string;
  if (err instanceof RpcError) {
    const todo = whatToDo(err);
    line = `${tool} refused by kgentd: ${oneLine(err.message)}${todo ? `; ${todo}` : ''}`;
  } else if (err instanceof CliError) {
    line = `${tool} failed: ${oneLine(err.message)}`;
  } else {
    line = `${tool} failed unexpectedly: ${oneLine((err as Error)?.message ?? String(err))}; kgentd's journal (journalctl -u kgentd) has the details`;
  }
  const library = err instanceof RpcError ? (err.data as { library?: LibraryExample[] } | undefined)?.library : undefined;
  const data = err instanceof RpcError ? { code: err.code, ...(err.kgentCode ? { kgentCode: err.kgentCode } : {}), ...(library?.length ? { library: library.slice(0, 3) } : {}) } : {};
  return { content: [{ type: 'text', text: line }], isError: true, structuredContent: { error: line, ...data } };
}
