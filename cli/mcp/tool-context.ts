/** What every tool and resource handler is given, and the one way they reach kgentd. */
import type { KgentClient } from '../client.js';
import { refusal, type ToolText } from './refusal.js';
import type { McpSession } from './session.js';

export interface ToolContext {
  readonly connect: () => Promise<KgentClient>;
  readonly session: McpSession;
}

/** Runs `fn` on a fresh connection; a refusal or failure becomes the tool's one-line error result. */
export async function onConnection(ctx: ToolContext, tool: string, fn: (c: KgentClient) => Promise<ToolText>): Promise<ToolText> {
  let client: KgentClient | undefined;
  try {
    client = await ctx.connect();
    return await fn(client);
  } catch (err) {
    return refusal(tool, err);
  } finally {
    client?.close();
  }
}

