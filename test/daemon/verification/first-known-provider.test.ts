/**
 * `firstKnown` (daemon/verification/verify-program.ts) puts the contracts store before the host's BTF and
 * tracefs. It must forward EVERY method of the provider interface: a method it drops is silently
 * "unknown" for the verifier (a print-table hint dropped this way made every hinted assume invalid
 * through kgentd while the golden tests, which use one provider, passed).
 */
import t from 'tap';
import { firstKnown } from '../../../daemon/verification/verify-program.js';
import type { ContractHint, ProbeContractProvider } from '../../../daemon/verifier/contract-seam.js';

const HINT: ContractHint = { expr: { op: 'in', lhs: { field: 'family' }, rhs: [2, 10] } as never, text: 'args->family is one of 2, 10', source: 'print table' };

// Required<>: a method added to the interface must be added here, and is then checked below.
function full(tag: string, empty = false): Required<ProbeContractProvider> {
  return {
    tracepointFields: async () => (empty ? undefined : [{ name: tag, bits: 64, signed: false, byteOrder: 'host' } as never]),
    kernelField: async () => (empty ? undefined : ({ name: tag, bits: 32, signed: true, byteOrder: 'host' } as never)),
    preconditions: async () => (empty ? [] : [{ op: '==', lhs: { int: tag }, rhs: { int: tag } } as never]),
    hints: async () => (empty ? [] : [{ ...HINT, source: tag }]),
    hostFacts: async () => (empty ? {} : { bpftraceComm: tag }),
  };
}

const probe = { provider: 'tracepoint', target: ['sock', 'inet_sock_set_state'] };

t.test('every method is forwarded: the store first, the host where the store has nothing', async (t) => {
  const methods = Object.keys(full('x')) as (keyof ProbeContractProvider)[];
  const both = firstKnown(full('store'), full('host'));
  const hostOnly = firstKnown(full('store', true), full('host'));
  for (const m of methods) {
    t.type(both[m], 'function', `${m} is forwarded`);
    const call = async (p: ProbeContractProvider): Promise<string> =>
      JSON.stringify(
        m === 'tracepointFields'
          ? await p.tracepointFields('sock', 'inet_sock_set_state')
          : m === 'kernelField'
            ? await p.kernelField('sock', ['sk_family'])
            : m === 'hostFacts'
              ? await p.hostFacts!()
              : await (p[m] as (x: typeof probe) => unknown)(probe),
      );
    if (m === 'hostFacts') {
      t.match(await call(both), /host/, 'host facts are the host\'s');
      continue;
    }
    t.match(await call(both), /store/, `${m}: the store's answer first`);
    t.match(await call(hostOnly), /host/, `${m}: the host's where the store has none`);
  }
});
