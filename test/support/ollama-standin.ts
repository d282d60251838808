/**
 * Ollama-protocol stand-in — a TEST AND DEVELOPMENT TOOL, not an LLM.
 *
 * This machine has no model, so every part of kgent that talks to Ollama is tested against this
 * small `node:http` server through the real `ollama` npm client and the real HTTP path. It speaks
 * the subset of the Ollama REST API that kgent uses:
 *
 * - `POST /api/chat`    — non-stream: one JSON object; stream: NDJSON chunks with `done:false`
 *                         and a last `done:true` line (what Ollama sends).
 * - `POST /api/embed`   — `{ model, input }` -> `{ model, embeddings: number[][] }`.
 * - `GET  /api/tags`    — the configured model list.
 * - `GET  /api/version` — `{ version }`.
 *
 * Chat answers are scripted: a queue of answers consumed in order, or a function of the request.
 * Embeddings are a deterministic hashed bag of words (so "similar text" gives similar vectors),
 * or a function you supply. Every request is recorded in {@link OllamaStandin.requests}.
 * Unknown models get Ollama's 404 `{"error": "model \"x\" not found, try pulling it first"}`,
 * which the client turns into a `ResponseError`.
 *
 * Start it on 127.0.0.1 port 0 (`startOllamaStandin()`), pass `standin.host` as the Ollama host,
 * and `await standin.close()` at the end of the test.
 *
 * By hand: `npm run standin -- --script FILE --port N [--record FILE]` (standin-main.ts), with a
 * script of JSON lines `{"match": "<substring of the last user message>" | null, "response": "..."}`
 * ({@link matchScript}); `record` appends every request as a JSON line ({@link StandinRecord}).
 */
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One chat message as Ollama receives it. */
export interface StandinMessage {
  readonly role: string;
  readonly content: string;
}

/** The parts of an `/api/chat` request body the script functions see. */
export interface StandinChatRequest {
  readonly model: string;
  readonly messages: readonly StandinMessage[];
  readonly stream: boolean;
  readonly format?: unknown;
  readonly options?: Record<string, unknown>;
  /** The whole parsed body, for anything else. */
  readonly body: Record<string, unknown>;
}

/**
 * A scripted chat answer: the assistant text, or an object that can also fail the request
 * (`status` + `error`), delay it, or split a streamed answer into given chunks.
 */
export type StandinAnswer =
  | string
  | {
      readonly content?: string;
      /** HTTP status to answer with instead of 200 (with `error` as the JSON error text). */
      readonly status?: number;
      readonly error?: string;
      readonly delayMs?: number;
      /** For streamed requests: the content pieces, one NDJSON line each (default: word by word). */
      readonly chunks?: readonly string[];
      /** For streamed requests: the pause before each piece, in ms (a slow model writing). */
      readonly chunkDelayMs?: number;
    };

export type StandinChatScript = readonly StandinAnswer[] | ((req: StandinChatRequest, index: number) => StandinAnswer | Promise<StandinAnswer>);

export interface OllamaStandinOptions {
  /** Chat answers: a queue consumed in order, or a function of the request (and its 0-based index). */
  readonly chat?: StandinChatScript;
  /** Models listed by `/api/tags` and accepted by chat/embed. Default: any model is accepted. */
  readonly models?: readonly string[];
  /**
   * Without `models`: what `/api/tags` lists (every model is accepted either way), e.g. the models
   * kgentd is configured with, which it looks for there before it asks. Models asked for are added.
   */
  readonly listed?: readonly string[];
  /** Models that can embed; a chat-only model asked to embed answers 400 like Ollama. Default: all of `models`. */
  readonly embedModels?: readonly string[];
  /** Dimensions of the default hashed embedding. Default 64. */
  readonly embedDims?: number;
  /** Custom embedding function. */
  readonly embed?: (input: readonly string[], model: string) => number[][];
  /** Value of `/api/version`. Default `0.0.0-standin`. */
  readonly version?: string;
  /** Delay before every chat answer, in ms (an answer's own `delayMs` adds to it). For timeout/cancel tests. */
  readonly delayMs?: number;
  /** Appends every request received (and every client that hung up early) to this file as a JSON line. */
  readonly record?: string;
  /** Port to listen on (default 0: a free one) and address (default 127.0.0.1). */
  readonly port?: number;
  readonly hostname?: string;
}

/**
 * One line of a stand-in script: answers the first chat request whose last user message contains
 * `match` (`null` or absent: any request), once.
 */
export interface StandinScriptEntry {
  readonly match?: string | null;
  readonly response?: string;
  /** Optional: fail instead (`status` with `error` as Ollama's error text). */
  readonly status?: number;
  readonly error?: string;
  readonly delayMs?: number;
  /** Streamed answers: pause before each piece (a slow model writing). */
  readonly chunkDelayMs?: number;
}

/**
 * A chat script where each request takes the first unused entry that matches its last user
 * message; when none does, the request fails the way Ollama fails (HTTP 500 `{"error": ...}`)
 * with a message saying so.
 */
export function matchScript(entries: readonly StandinScriptEntry[]): (req: StandinChatRequest, index: number) => StandinAnswer {
  const used = new Array<boolean>(entries.length).fill(false);
  return (req, index) => {
    const last = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    const at = entries.findIndex((e, i) => !used[i] && (e.match === null || e.match === undefined || last.includes(e.match)));
    if (at < 0) {
      const shown = last.length > 80 ? `${last.slice(0, 80)}...` : last;
      return { status: 500, error: `ollama stand-in: no unused script entry matches request #${index} (last user message: ${JSON.stringify(shown)})` };
    }
    used[at] = true;
    const e = entries[at]!;
    return { content: e.response ?? '', ...(e.status !== undefined ? { status: e.status, error: e.error } : {}), ...(e.delayMs ? { delayMs: e.delayMs } : {}), ...(e.chunkDelayMs ? { chunkDelayMs: e.chunkDelayMs } : {}) };
  };
}

/** Parses a script file's text: one JSON object per non-empty line; errors name the line. */
export function parseScript(text: string, file = 'script'): StandinScriptEntry[] {
  const out: StandinScriptEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new Error(`${file}:${i + 1}: not JSON: ${(err as Error).message}`);
    }
    const o = v as Record<string, unknown>;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file}:${i + 1}: expected an object {"match", "response"}`);
    if (o['match'] !== null && o['match'] !== undefined && typeof o['match'] !== 'string') throw new Error(`${file}:${i + 1}: "match" must be a string or null`);
    if (o['response'] !== undefined && typeof o['response'] !== 'string') throw new Error(`${file}:${i + 1}: "response" must be a string`);
    if (o['response'] === undefined && o['status'] === undefined) throw new Error(`${file}:${i + 1}: needs "response" (or "status" and "error")`);
    out.push(o as StandinScriptEntry);
  });
  return out;
}

/** One request the stand-in received (also the line written to the `record` file). */
export interface StandinRecord {
  readonly method: string;
  readonly path: string;
  /** The whole parsed JSON body: for chat `model`, `messages`, `options` (`num_ctx`), `stream`. */
  readonly body: Record<string, unknown> | undefined;
  readonly at: number;
  /** Set on the extra record of a client that closed the connection before its answer was sent. */
  readonly event?: 'client-closed';
}

export interface OllamaStandin {
  /** `http://127.0.0.1:PORT` — give this to `new Ollama({ host })` or OLLAMA_HOST. */
  readonly host: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: StandinRecord[];
  /** Chat requests whose client hung up before the answer was sent (cancelled or timed out). */
  readonly clientClosed: StandinRecord[];
  /** Only the `/api/chat` requests, parsed. */
  chatRequests(): StandinChatRequest[];
  /** Appends answers to the queue (only when the chat script is a queue or absent). */
  pushChat(...answers: StandinAnswer[]): void;
  /** How many queued answers are still unused. */
  remaining(): number;
  close(): Promise<void>;
}

/** Deterministic hashed bag-of-words embedding, L2-normalised. */
export function hashedEmbedding(text: string, dims = 64): number[] {
  const v = new Array<number>(dims).fill(0);
  for (const word of text.toLowerCase().split(/[^a-z0-9_]+/)) {
    if (!word) continue;
    let h = 2166136261;
    for (let i = 0; i < word.length; i++) {
      h ^= word.charCodeAt(i);
      h = Math.imul(h, 16777619);
    }
    const idx = (h >>> 0) % dims;
    v[idx] = (v[idx] ?? 0) + ((h >>> 31) & 1 ? -1 : 1);
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => x / norm);
}

/** Starts the stand-in on 127.0.0.1, port 0 (a free port). */
export async function startOllamaStandin(opts: OllamaStandinOptions = {}): Promise<OllamaStandin> {
  const requests: StandinRecord[] = [];
  const clientClosed: StandinRecord[] = [];
  const record = (r: StandinRecord): void => {
    if (opts.record) appendFileSync(opts.record, JSON.stringify(r) + '\n');
  };
  const queue: StandinAnswer[] = Array.isArray(opts.chat) ? [...(opts.chat as readonly StandinAnswer[])] : [];
  const chatFn = typeof opts.chat === 'function' ? opts.chat : undefined;
  let chatIndex = 0;
  const dims = opts.embedDims ?? 64;
  const version = opts.version ?? '0.0.0-standin';

  const listed = new Set(opts.listed ?? []);
  const known = (model: string): boolean => {
    if (!opts.models) {
      if (model) listed.add(model);
      return true;
    }
    return opts.models.some((m) => m === model || m === `${model}:latest` || `${m}:latest` === model);
  };
  const canEmbed = (model: string): boolean => {
    const list = opts.embedModels ?? opts.models;
    return !list || list.some((m) => m === model || m === `${model}:latest` || `${m}:latest` === model);
  };

  const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const notFound = (res: http.ServerResponse, model: string): void =>
    sendJson(res, 404, { error: `model "${model}" not found, try pulling it first` });

  const handleChat = async (res: http.ServerResponse, body: Record<string, unknown>, rec: StandinRecord): Promise<void> => {
    const model = String(body['model'] ?? '');
    if (!known(model)) return notFound(res, model);
    const req: StandinChatRequest = {
      model,
      messages: Array.isArray(body['messages']) ? (body['messages'] as StandinMessage[]) : [],
      stream: body['stream'] === true,
      format: body['format'],
      options: (body['options'] as Record<string, unknown> | undefined) ?? undefined,
      body,
    };
    const index = chatIndex++;
    let answer: StandinAnswer | undefined;
    if (chatFn) answer = await chatFn(req, index);
    else answer = queue.shift();
    if (answer === undefined) {
      return sendJson(res, 500, { error: `ollama stand-in: no scripted chat answer left (request #${index})` });
    }
    const a = typeof answer === 'string' ? { content: answer } : answer;
    const delay = (opts.delayMs ?? 0) + (a.delayMs ?? 0);
    if (delay) {
      // Wait, but notice a client that gives up (abort, timeout): it closes the connection.
      const closed = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          res.off('close', onClose);
          resolve(false);
        }, delay);
        const onClose = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        res.once('close', onClose);
      });
      if (closed || res.destroyed) {
        const r: StandinRecord = { ...rec, at: Date.now(), event: 'client-closed' };
        clientClosed.push(r);
        record(r);
        return;
      }
    }
    if (a.status && a.status !== 200) return sendJson(res, a.status, { error: a.error ?? 'scripted failure' });
    const content = a.content ?? '';
    const created = new Date().toISOString();
    const final = {
      model,
      created_at: created,
      message: { role: 'assistant', content: req.stream ? '' : content },
      done: true,
      done_reason: 'stop',
      total_duration: 1,
      load_duration: 0,
      prompt_eval_count: req.messages.reduce((n, m) => n + String(m.content ?? '').length, 0),
      prompt_eval_duration: 0,
      eval_count: content.length,
      eval_duration: 0,
    };
    if (!req.stream) return sendJson(res, 200, final);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const pieces = a.chunks ?? (content.match(/\S+\s*|\s+/g) ?? []);
    for (const piece of pieces) {
      if (a.chunkDelayMs) {
        await new Promise((r) => setTimeout(r, a.chunkDelayMs));
        if (res.destroyed) return;
      }
      res.write(JSON.stringify({ model, created_at: created, message: { role: 'assistant', content: piece }, done: false }) + '\n');
    }
    res.end(JSON.stringify(final) + '\n');
  };

  const handleEmbed = (res: http.ServerResponse, body: Record<string, unknown>): void => {
    const model = String(body['model'] ?? '');
    if (!known(model)) return notFound(res, model);
    if (!canEmbed(model)) return sendJson(res, 400, { error: `"${model}" does not support embeddings` });
    const raw = body['input'];
    const input = Array.isArray(raw) ? raw.map(String) : [String(raw ?? '')];
    const embeddings = opts.embed ? opts.embed(input, model) : input.map((s) => hashedEmbedding(s, dims));
    sendJson(res, 200, { model, embeddings, total_duration: 1, load_duration: 0, prompt_eval_count: input.length });
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      let body: Record<string, unknown> | undefined;
      if (chunks.length) {
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        } catch {
          const r = { method: req.method ?? '', path: url.pathname, body: undefined, at: Date.now() };
          requests.push(r);
          record(r);
          return sendJson(res, 400, { error: 'invalid JSON body' });
        }
      }
      const rec: StandinRecord = { method: req.method ?? '', path: url.pathname, body, at: Date.now() };
      requests.push(rec);
      record(rec);
      const route = `${req.method} ${url.pathname}`;
      const run = async (): Promise<void> => {
        switch (route) {
          case 'POST /api/chat':
            return handleChat(res, body ?? {}, rec);
          case 'POST /api/embed':
            return handleEmbed(res, body ?? {});
          case 'GET /api/tags':
            return sendJson(res, 200, {
              models: (opts.models ?? [...listed]).map((name) => ({
                name,
                model: name,
                modified_at: new Date(0).toISOString(),
                size: 0,
                digest: 'standin',
                details: { format: 'gguf', family: 'standin', parameter_size: '0', quantization_level: 'none' },
              })),
            });
          case 'GET /api/version':
            return sendJson(res, 200, { version });
          default:
            return sendJson(res, 404, { error: `ollama stand-in: ${route} not implemented` });
        }
      };
      run().catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: `ollama stand-in: ${String(err)}` });
        else res.destroy();
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.hostname ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    host: `http://${opts.hostname ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    clientClosed,
    chatRequests: () =>
      requests
        .filter((r) => r.path === '/api/chat' && r.body)
        .map((r) => {
          const b = r.body ?? {};
          return {
            model: String(b['model'] ?? ''),
            messages: (b['messages'] as StandinMessage[] | undefined) ?? [],
            stream: b['stream'] === true,
            format: b['format'],
            options: b['options'] as Record<string, unknown> | undefined,
            body: b,
          };
        }),
    pushChat: (...answers) => {
      if (chatFn) throw new Error('ollama stand-in: chat is scripted by a function; pushChat needs a queue');
      queue.push(...answers);
    },
    remaining: () => queue.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
