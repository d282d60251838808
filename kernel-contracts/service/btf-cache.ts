/**
 * The running kernel's parsed BTF (vmlinux and the modules asked for), kept while lookups use it
 * and dropped after an idle time: parsed BTF is tens of MB that an idle daemon should not hold.
 */
import { loadVmlinuxBtf, loadModuleBtf } from '../kernel-reader/btf/btf.js';
import type { Btf } from '../kernel-reader/btf/types.js';
import type { KernelHost } from '../kernel-reader/host.js';

interface Held {
  readonly vmlinux: Promise<Btf>;
  readonly modules: Map<string, Promise<Btf | undefined>>;
  timer?: NodeJS.Timeout;
}

export class BtfCache {
  private held: Held | undefined;

  constructor(
    private readonly host: KernelHost,
    private readonly idleMs: number,
  ) {}

  /** vmlinux's BTF; each call restarts the idle time. A failed load is not kept. */
  vmlinux(): Promise<Btf> {
    if (!this.held) {
      const vmlinux = loadVmlinuxBtf(this.host);
      this.held = { vmlinux, modules: new Map() };
      vmlinux.catch(() => {
        this.held = undefined;
      });
    }
    const b = this.held;
    if (b.timer) clearTimeout(b.timer);
    b.timer = setTimeout(() => {
      if (this.held === b) this.held = undefined;
    }, this.idleMs);
    b.timer.unref();
    return b.vmlinux;
  }

  /** A module's BTF (split BTF over vmlinux's); undefined when it cannot be read. */
  async module(name: string): Promise<Btf | undefined> {
    const base = await this.vmlinux();
    const b = this.held!;
    let p = b.modules.get(name);
    if (!p) {
      p = loadModuleBtf(this.host, name, base).catch(() => undefined);
      b.modules.set(name, p);
    }
    return p;
  }

  /** Forgets what is held (a new kernel's BTF is read again on the next lookup). */
  drop(): void {
    this.held = undefined;
  }

  /** Forgets what is held and its timer (the service stops). */
  close(): void {
    if (this.held?.timer) clearTimeout(this.held.timer);
    this.held = undefined;
  }
}
