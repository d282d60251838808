/**
 * The kernel reader: the only module of kgent that reads /sys, /proc, /boot and tracefs.
 * Everything goes through a {@link KernelHost}: {@link realHost} for the live system,
 * {@link fixtureHost} for recorded kernel data in tests.
 */
export * from './host.js';
export * from './identity.js';
export * from './kernel-config.js';
export * from './tracepoint-format.js';
export * from './probe-support.js';
export * from './bpftrace.js';
export * from './btf/types.js';
export { parseBtf, loadVmlinuxBtf, loadModuleBtf, listModuleBtf, BTF_MAGIC } from './btf/btf.js';
export type { ParseBtfOptions } from './btf/btf.js';
