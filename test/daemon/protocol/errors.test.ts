import t from 'tap';
import { KgentError } from '../../../daemon/errors.js';
import { formatDiagnostic } from '../../../daemon/protocol/diagnostic.js';

t.test('KgentError carries code and data', async (t) => {
  const e = new KgentError('not-found', 'no program 7', { id: 7 });
  t.equal(e.code, 'not-found');
  t.same(e.data, { id: 7 });
});

t.test('formatDiagnostic renders bpftrace shape', async (t) => {
  const out = formatDiagnostic(
    { code: 'x', severity: 'error', stage: 'parse', message: 'More than one BEGIN probe defined', span: { line: 1, column: 25, endLine: 1, endColumn: 31 } },
    'stdin',
    'BEGIN { printf("a\\n"); } BEGIN { printf("b\\n"); exit(); }',
  );
  t.equal(out.split('\n')[0], 'stdin:1:25-31: ERROR: More than one BEGIN probe defined');
  t.equal(out.split('\n')[2], ' '.repeat(24) + '~~~~~~~');
});
