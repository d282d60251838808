/**
 * kgent's layers, checked by `npm run lint` (dependency-cruiser) in CI (test/run-all.sh).
 * README.md ("Layout") explains them; test/lint/pure-globals.mjs checks what imports cannot show
 * (the verifier's use of the `process` global and other ambient I/O).
 *
 *   cli/ ──> daemon/protocol/ (static)            daemon/offline/ (dynamic import() only)
 *   daemon/* ──> daemon/verifier/ (pure) ──> daemon/protocol/, kernel-contracts' two pure tables
 *   daemon/* ──> kernel-contracts/ ──> (never daemon/)
 */
/** Node built-ins that reach the file system, processes, the network or the environment. */
const IMPURE_CORE = '^(node:)?(fs|fs/promises|net|child_process|os|process|http|https|http2|dgram|dns|tls|cluster|worker_threads|readline|v8|vm|inspector)$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles: each module can be read (and tested) after the ones it uses.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      severity: 'error',
      comment:
        'No import cycles between folders either (no-circular sees modules only: a.ts -> b/x.ts -> a/y.ts is no ' +
        'module cycle but makes the two folders one). Each folder can be read, and moved, after the ones it uses.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'cli-only-protocol',
      severity: 'error',
      comment:
        'cli/ is a thin client: it imports daemon/protocol/ (types, method constants, validation) and nothing else ' +
        'of the daemon, kernel-contracts or the verifier; local work goes through daemon/offline/index.ts.',
      from: { path: '^cli/' },
      to: { path: '^(daemon|kernel-contracts|datasets)/', pathNot: ['^daemon/protocol/', '^daemon/offline/index\\.ts$'] },
    },
    {
      name: 'cli-offline-lazy',
      severity: 'error',
      comment:
        'cli/ loads daemon/offline/ only with a dynamic import() (type-only imports are erased), so commands ' +
        'other than a local verify never load Z3, the verifier or kernel-contracts.',
      from: { path: '^cli/' },
      to: { path: '^daemon/offline/', dynamic: false, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'protocol-self-contained',
      severity: 'error',
      comment: 'daemon/protocol/ is what the CLI loads: it depends on nothing outside itself (no npm packages, no Node I/O).',
      from: { path: '^daemon/protocol/' },
      to: { pathNot: '^daemon/protocol/' },
    },
    {
      name: 'kernel-contracts-not-daemon',
      severity: 'error',
      comment: 'kernel-contracts/ never imports daemon/ (nor cli/); the daemon adapts it (daemon/verification/).',
      from: { path: '^kernel-contracts/' },
      to: { path: '^(daemon|cli)/' },
    },
    {
      name: 'verifier-pure-no-io',
      severity: 'error',
      comment: 'The verifier (front-end, executor, SMT, guards, lints) is pure: no file system, processes, network or environment.',
      from: { path: '^daemon/verifier/' },
      to: { dependencyTypes: ['core'], path: IMPURE_CORE },
    },
    {
      name: 'verifier-pure-no-daemon',
      severity: 'error',
      comment: 'The verifier imports only itself and daemon/protocol/ (diagnostics and report types) of the daemon.',
      from: { path: '^daemon/verifier/' },
      to: { path: '^(daemon|cli)/', pathNot: ['^daemon/verifier/', '^daemon/protocol/'] },
    },
    {
      name: 'verifier-pure-kernel-tables-only',
      severity: 'error',
      comment:
        "The verifier may use two pure tables of kernel-contracts (bpftrace's probe types, the C integer types), " +
        'nothing that reads the kernel: contracts reach it through the ProbeContractProvider interface.',
      from: { path: '^daemon/verifier/' },
      to: { path: '^kernel-contracts/', pathNot: ['^kernel-contracts/probe-types\\.ts$', '^kernel-contracts/contracts/c-types\\.ts$'] },
    },
    {
      name: 'verifier-npm-only-z3-in-solver',
      severity: 'error',
      comment: 'The verifier uses no npm package except z3-solver, and that only in daemon/verifier/smt/solver.ts.',
      from: { path: '^daemon/verifier/', pathNot: '^daemon/verifier/smt/solver\\.ts$' },
      to: { dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'z3-only-in-solver',
      severity: 'error',
      comment: 'One module imports z3-solver: daemon/verifier/smt/solver.ts (every solver call goes through it).',
      from: { pathNot: '^daemon/verifier/smt/solver\\.ts$' },
      to: { path: '(^|/)node_modules/z3-solver/' },
    },
    {
      name: 'one-llm-door',
      severity: 'error',
      comment:
        'Only daemon/llm talks to a model server (the ollama client): everything else, children included, asks the ' +
        'LlmBackend the daemon hands in (time limits, cancellation, num_ctx, the check of who holds a local Ollama port).',
      from: { pathNot: '^daemon/llm/' },
      to: { path: '(^|/)node_modules/ollama/' },
    },
    {
      name: 'lancedb-only-in-children',
      severity: 'error',
      comment:
        'LanceDB keeps its native library and memory for the life of a process: only the modules that run in a child ' +
        '(the LanceDB indexes themselves, imported by the child scripts) load it, never kgentd.',
      from: {
        pathNot: [
          '^kernel-contracts/search/(lance|lance-doc-index|lancedb-env)\\.ts$',
          '^daemon/retrieval/example-store\\.ts$',
        ],
      },
      to: { path: '(^|/)node_modules/@lancedb/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'pure-tables-import-nothing',
      severity: 'error',
      comment: 'The tables the verifier may import from kernel-contracts stay pure: they import nothing.',
      from: { path: ['^kernel-contracts/probe-types\\.ts$', '^kernel-contracts/contracts/c-types\\.ts$'] },
      to: {},
    },
    {
      name: 'kernel-reader-one-door',
      severity: 'error',
      comment:
        'In kernel-contracts/kernel-reader/, only host.ts touches the file system (/sys, /proc, /boot, tracefs behind ' +
        'the KernelHost interface), and bpftrace.ts, which finds and runs the bpftrace binary; the BTF, format, ' +
        'identity, config and probe readers work through a KernelHost so tests fake the kernel.',
      from: { path: '^kernel-contracts/kernel-reader/', pathNot: ['^kernel-contracts/kernel-reader/host\\.ts$', '^kernel-contracts/kernel-reader/bpftrace\\.ts$'] },
      to: { dependencyTypes: ['core'], path: IMPURE_CORE },
    },
    {
      name: 'kernel-contracts-no-process-spawn',
      severity: 'error',
      comment:
        'In kernel-contracts, only kernel-reader/bpftrace.ts runs a program (bpftrace), and util/json-lines-child.ts ' +
        "runs kgent's own node scripts (the contracts build, the example sync, the LanceDB indexes) in a child, so their memory leaves with it.",
      from: { path: '^kernel-contracts/', pathNot: ['^kernel-contracts/kernel-reader/bpftrace\\.ts$', '^kernel-contracts/util/json-lines-child\\.ts$'] },
      to: { path: ['^(node:)?child_process$', '(^|/)node_modules/execa/'] },
    },
    {
      name: 'not-to-tests',
      severity: 'error',
      comment: 'Production code never imports test code.',
      from: { path: '^(daemon|cli|kernel-contracts|datasets)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
