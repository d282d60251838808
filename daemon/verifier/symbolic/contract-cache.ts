/**
 * Synchronous view of a {@link ProbeContractProvider} for the executor. Lookups that the provider
 * answers asynchronously are recorded as pending; the caller awaits {@link ContractCache.settle}
 * and runs the executor again (lookups depend on the program, not on the answers, so two rounds
 * normally suffice).
 */
import type { ContractExpr, ContractHint, FieldContract, HostFacts, ProbeContractProvider, ProbeRef } from '../contract-seam.js';

export class ContractCache {
  private readonly tp = new Map<string, readonly FieldContract[] | undefined>();
  private readonly kf = new Map<string, FieldContract | undefined>();
  private readonly pre = new Map<string, readonly ContractExpr[]>();
  private readonly hintTable = new Map<string, readonly ContractHint[]>();
  private readonly host = new Map<string, HostFacts>();
  private readonly pending: Promise<void>[] = [];
  /** Provider failures, reported as notes (a failing provider means "unknown", never a wrong fact). */
  readonly errors: string[] = [];

  constructor(private readonly provider: ProbeContractProvider) {}

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  async settle(): Promise<void> {
    const ps = this.pending.splice(0);
    await Promise.all(ps);
  }

  tracepointFields(category: string, event: string): readonly FieldContract[] | undefined {
    const key = `${category}:${event}`;
    if (this.tp.has(key)) return this.tp.get(key);
    this.lookup(key, this.tp, () => this.provider.tracepointFields(category, event));
    return this.tp.get(key);
  }

  kernelField(structName: string, fieldPath: readonly string[]): FieldContract | undefined {
    const key = `${structName}.${fieldPath.join('.')}`;
    if (this.kf.has(key)) return this.kf.get(key);
    this.lookup(key, this.kf, () => this.provider.kernelField(structName, fieldPath));
    return this.kf.get(key);
  }

  preconditions(probe: ProbeRef): readonly ContractExpr[] {
    const key = `${probe.provider}:${probe.target.join(':')}`;
    if (this.pre.has(key)) return this.pre.get(key) ?? [];
    if (!this.provider.preconditions) {
      this.pre.set(key, []);
      return [];
    }
    this.lookup(key, this.pre, () => (this.provider.preconditions ? this.provider.preconditions(probe) : []), []);
    return this.pre.get(key) ?? [];
  }

  hints(probe: ProbeRef): readonly ContractHint[] {
    const key = `${probe.provider}:${probe.target.join(':')}`;
    if (this.hintTable.has(key)) return this.hintTable.get(key) ?? [];
    const provider = this.provider;
    if (!provider.hints) {
      this.hintTable.set(key, []);
      return [];
    }
    this.lookup(key, this.hintTable, () => (provider.hints ? provider.hints(probe) : []), []);
    return this.hintTable.get(key) ?? [];
  }

  hostFacts(): HostFacts {
    if (!this.host.has('')) this.lookup('host facts', this.host, () => (this.provider.hostFacts ? this.provider.hostFacts() : {}), {}, '');
    return this.host.get('') ?? {};
  }

  private lookup<T>(key: string, table: Map<string, T>, get: () => T | Promise<T>, fallback?: T, tableKey: string = key): void {
    let r: T | Promise<T>;
    try {
      r = get();
    } catch (err) {
      this.errors.push(`contract lookup ${key} failed: ${String(err)}`);
      table.set(tableKey, fallback as T);
      return;
    }
    if (r instanceof Promise) {
      table.set(tableKey, fallback as T);
      this.pending.push(
        r.then(
          (v) => {
            table.set(tableKey, v);
          },
          (err: unknown) => {
            this.errors.push(`contract lookup ${key} failed: ${String(err)}`);
          },
        ),
      );
      // Mark as "asked" so the same round does not ask twice; the answer replaces it on settle.
      return;
    }
    table.set(tableKey, r);
  }
}
