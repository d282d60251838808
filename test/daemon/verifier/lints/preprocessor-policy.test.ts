/**
 * The preprocessor policy (daemon/verifier/lints/preprocessor-policy.ts): for members, no directive
 * or operator that reads or probes a host file gets through, however it is spelled; the includes
 * bpftrace programs use still do.
 */
import t from 'tap';
import { isVettedHeader, preprocessorRefusals } from '../../../../daemon/verifier/lints/index.js';

const BODY = 'BEGIN { exit(); }\n';

const refused: [string, string, RegExp][] = [
  ['quoted relative include', '#include "etc/shadow"\n', /#include of anything but <header.h>/],
  ['quoted include of a header name', '#include "linux/sched.h"\n', /#include of anything but <header.h>/],
  ['angled include of a file in the working directory', '#include <etc/shadow>\n', /#include <etc\/shadow> is refused/],
  ['angled include without .h', '#include <linux/sched>\n', /is refused: only system headers/],
  ['angled include climbing out', '#include <linux/../../../etc/shadow.h>\n', /is refused: only system headers/],
  ['angled absolute', '#include </etc/shadow>\n', /is refused: only system headers/],
  ['angled dot segment', '#include <linux/./x.h>\n', /is refused: only system headers/],
  ['angled empty segment', '#include <linux//sched.h>\n', /is refused: only system headers/],
  ['computed include', '#define F "etc/shadow"\n#include F\n', /#include of anything but/],
  ['computed angled include', '#define F <linux/sched.h>\n#include F\n', /#include of anything but/],
  ['junk after the header', '#include <linux/sched.h> "x"\n', /#include of anything but/],
  ['include_next', '#include_next <linux/sched.h>\n', /#include_next is refused/],
  ['import', '#import <linux/sched.h>\n', /#import is refused/],
  ['embed', '#embed "etc/shadow"\n', /#embed is refused/],
  ['pragma dependency', '#pragma GCC dependency "etc/shadow"\n', /#pragma is refused/],
  ['pragma once', '#pragma once\n', /#pragma is refused/],
  ['line', '#line 1 "definitions.h"\n', /#line is refused/],
  ['ident', '#ident "x"\n', /#ident is refused/],
  ['__has_include', '#if __has_include("etc/shadow")\nstruct a { int x; };\n#endif\n', /__has_include is refused/],
  ['__has_include_next', '#if __has_include_next(<x.h>)\n#endif\n', /__has_include_next is refused/],
  ['_Pragma in a macro', '#define P(x) _Pragma(#x)\n', /_Pragma is refused/],
  ['token pasting', '#define H(a, b) a##b\n', /token pasting/],
  ['digraph pasting', '#define H(a, b) a%:%:b\n', /token pasting/],
  ['digraph directive', '%:include "etc/shadow"\n', /#include of anything but/],
  ['splice inside the directive name', '#inc\\\nlude "etc/shadow"\n', /#include of anything but/],
  ['splice with blanks after the backslash', '#inc\\  \nlude "etc/shadow"\n', /#include of anything but/],
  ['splice between # and the name', '#\\\ninclude "etc/shadow"\n', /#include of anything but/],
  ['blanks before and after #', '   #   include "etc/shadow"\n', /#include of anything but/],
  ['comment before #', '/* c */ #include "etc/shadow"\n', /#include of anything but/],
  ['directive after a comment spanning lines', '/* a\n */ #include "etc/shadow"\n', /#include of anything but/],
  ['comment between # and include', '#/**/include "etc/shadow"\n', /#include of anything but/],
  ['include inside a struct definition', 'struct foo {\n#include "etc/shadow"\n};\n', /#include of anything but/],
  ['include after the probes', `${BODY}#include "etc/shadow"\n`, /#include of anything but/],
  ['trigraph #', 'struct foo { int a; ??=include "etc/shadow"\n};\n', /trigraph \?\?= is refused/],
  ['no-break space before #', '\u00a0#include "etc/shadow"\n', /#include of anything but/],
  ['NUL before #', '\u0000\u2003#include "etc/shadow"\n', /#include of anything but/],
  ['a lone carriage return ends the line', 'struct a { int x; };\r#include "etc/shadow"\n', /#include of anything but/],
  ['a line comment ends at a carriage return', '// c\r#include "etc/shadow"\n', /#include of anything but/],
  ['splice before a carriage return', '#inc\\\rlude "etc/shadow"\n', /#include of anything but/],
  ['null directive then pragma', '#\n#pragma once\n', /#pragma is refused/],
];

for (const [name, preamble, message] of refused) {
  t.test(`refused: ${name}`, async (t) => {
    const ds = preprocessorRefusals(preamble + BODY, ' for members of kgent');
    t.ok(ds.length > 0, 'refused');
    t.match(ds.map((d) => d.message).join('\n'), message);
    for (const d of ds) {
      t.match(d, { code: 'lint.preprocessor-refused', severity: 'error', stage: 'lint' });
      t.match(d.message, / for members of kgent$/);
      t.ok(d.span && d.span.line >= 1, 'located');
    }
  });
}

const allowed: [string, string][] = [
  ['kernel headers', '#include <linux/sched.h>\n#include <net/sock.h>\n#include <linux/socket.h>\n#include <uapi/linux/ptrace.h>\n'],
  ['asm and sys headers', '#include <asm/ptrace.h>\n#include <sys/socket.h>\n#include <linux/blk-mq.h>\n'],
  ['a C standard header', '#include <stdint.h>\n'],
  ['a trailing comment', '#include <linux/fs.h> // for struct file\n'],
  ['defines and conditionals', '#ifndef BPFTRACE_HAVE_BTF\n#include <linux/path.h>\n#else\n#define AF_INET 2\n#endif\n#undef AF_INET\n#if 1\n#elif 0\n#endif\n'],
  ['a struct definition', 'struct foo { int a; char b[16]; };\n'],
  ['a stringizing macro', '#define S(x) #x\n'],
  ['strings that look like directives', ''],
];

for (const [name, preamble] of allowed) {
  t.test(`allowed: ${name}`, async (t) => {
    const body = name.startsWith('strings') ? 'BEGIN { printf("#include \\"etc/shadow\\" __has_include ##\\n"); exit(); }\n' : BODY;
    t.same(preprocessorRefusals(preamble + body), []);
  });
}

t.test('vetted headers', async (t) => {
  for (const h of ['linux/sched.h', 'net/sock.h', 'uapi/linux/bpf.h', 'asm-generic/int-ll64.h', 'stddef.h', 'linux/blk-mq.h']) t.ok(isVettedHeader(h), h);
  for (const h of ['etc/shadow', 'shadow.h', 'root/.ssh/id_rsa.h', 'linux/../x.h', '../linux/x.h', './linux/x.h', '/usr/include/linux/sched.h', 'linux/.x.h', 'linux/x.h ', '']) {
    t.notOk(isVettedHeader(h), h || '(empty)');
  }
});
