/**
 * The one way kgentd talks to Ollama: the `ollama` client over plain HTTP at the configured host,
 * with a time limit on every call so an unreachable model server cannot hang a request.
 */
import { Ollama } from 'ollama';

export function createOllama(host: string, timeoutMs: number): Ollama {
  return new Ollama({
    host,
    fetch: (input: string | URL | Request, init?: RequestInit) =>
      // Streamed calls bring the client's own abort signal: the time limit applies to them too.
      fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs) }),
  });
}

export interface OllamaProbe {
  readonly host: string;
  readonly reachable: boolean;
  readonly models: readonly string[];
  readonly error?: string;
}

/** Is an Ollama server answering at `host`, and which models does it have? */
export async function probeOllama(host: string, timeoutMs = 2000): Promise<OllamaProbe> {
  try {
    const res = await createOllama(host, timeoutMs).list();
    return { host, reachable: true, models: res.models.map((m) => m.name) };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.cause?.code ?? (e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : e.message);
    return { host, reachable: false, models: [], error: why };
  }
}

/** A configured model is present when its name matches with or without the `:latest` tag. */
export function hasModel(models: readonly string[], wanted: string): boolean {
  const norm = (m: string): string => (m.includes(':') ? m : `${m}:latest`);
  return models.some((m) => norm(m) === norm(wanted));
}
