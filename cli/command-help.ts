/**
 * `kgentctl COMMAND --help` (and `kgentctl help COMMAND`) for the commands main.ts dispatches;
 * contracts, examples, eval and verify carry their own help in their modules.
 */
const GLOBAL = `Global options: --socket PATH (default /run/kgent/kgentd.sock, or $KGENT_SOCKET), --json`;

const HELP: Readonly<Record<string, string>> = {
  status: `Usage: kgentctl status

kgentd's version, pid and uptime, its socket and state dir, the kernel, bpftrace, program counts,
kernel checks in progress, storage health, and who you are to kgentd (your role).`,

  doctor: `Usage: kgentctl doctor

Checks this host for kgent: bpftrace, tracefs, kernel BTF, each probe type, Ollama and its models,
kgentd's socket and state dir. Each line is ok / warn / fail with the fix. When kgentd does not
answer, says so and checks the host from kgentctl itself.

Exit status: 0 nothing failed, 1 a check failed.`,

  request: `Usage: kgentctl request "TEXT" [--attach] [--hint TEXT] [--trials N]
       kgentctl request --accept-unverified R<n> [--attach]

Asks for a bpftrace program in English and runs the Kgent loop: retrieval, synthesis (LLM),
annotation (LLM), symbolic verification, the kernel's eBPF verifier. Each stage is shown as it
starts, with its elapsed time (and tokens received, for the LLM); then the program, the
verifier's verdicts, and the next command to type.

Options:
  --attach                 attach the program as soon as it is verified
  --hint TEXT              a hint given up front (what to use, what to avoid)
  --trials N               attempts before asking for a hint (1-10, default from kgentd's config)
  --accept-unverified R<n> accept the last candidate of R<n>, which is NOT verified (audited)

On a terminal, when the trials run out, kgentctl asks for a hint (hint>); an empty line stops.
Ctrl-C cancels the request, also at hint>. With --json, progress and the result are JSON lines.

Exit status: 0 verified or attached, 1 failed, 5 needs a hint or no LLM reachable (the closest
verified programs of the library are shown), 130 cancelled with Ctrl-C.

Example:
  kgentctl request "trace tcp connects with ports in host byte order" --attach`,

  hint: `Usage: kgentctl hint R<n> "TEXT"

Continues a request that needs a hint, with TEXT added to what the model is told; the attempts
go on from where they stopped. Exit status as for kgentctl request.

Example:
  kgentctl hint R3 "use the tracepoint sock:inet_sock_set_state, not a kprobe"`,

  requests: `Usage: kgentctl requests [--all]
       kgentctl requests prune [--keep N] [--all]
       kgentctl requests delete R<n>...

The latest 50 requests (R<n>) with their status, attempts, program and who asked: yours, or
everyone's for an admin; then what your stored requests hold against your storage quota. A request
is not a program: its program, once created, has a plain number.

  prune          delete your finished requests but the newest N (--keep N, default 0);
                 --all: everyone's (admins only)
  delete R<n>... delete requests that are not running (your own; admins: any)

Example:
  kgentctl requests prune --keep 20`,

  cancel: `Usage: kgentctl cancel R<n>

Cancels a running request (the LLM call in progress is closed). Ctrl-C on the kgentctl request that
started it does the same.`,

  show: `Usage: kgentctl show ID          a program: status, source, runs, audit trail
       kgentctl show R<n> [-v]    a request: every attempt with its candidate, feedback and
                                  verdicts; -v adds the annotated programs and the prompts and
                                  answers of both LLM calls

Options:
  -v, --verbose   (requests) prompts, answers and annotated programs`,

  run: `Usage: kgentctl run FILE.bt [--name NAME] [--no-approve]

Kernel-checks a program you wrote (the kernel's eBPF verifier, through bpftrace), then attaches it.
Your own submission counts as approved.

Options:
  --name NAME     its name in kgentctl list (default: the file name)
  --no-approve    leave it waiting for kgentctl approve ID

Exit status: 0 running (or waiting for approval), 1 rejected or failed to attach, 2 unreadable
or not a text file.`,

  check: `Usage: kgentctl check FILE.bt

Loads the program through the kernel's eBPF verifier and leaves nothing attached.

Exit status: 0 accepted, 1 rejected, 2 unreadable or not a text file.`,

  list: `Usage: kgentctl list [--all]

Programs with their status, pid, restarts, who submitted them and their name: yours, or everyone's
for an admin. Programs the kernel check rejected show for a day; --all shows them all.`,

  approve: `Usage: kgentctl approve ID

Approves a program waiting for approval and attaches it (kgentd's policy says who may; kgentctl
status shows your role). Exit status: 0 running, 1 it failed to attach.`,

  stop: `Usage: kgentctl stop ID

Stops a running program. It stays stopped across kgentd restarts.`,

  logs: `Usage: kgentctl logs ID [-f] [-n N]

A program's output: printf lines as printed, maps and other output as JSON.

Options:
  -n, --lines N   the last N entries (default 50; 0 with -f: only new ones)
  -f, --follow    keep printing new entries until the program ends or Ctrl-C

Example:
  kgentctl logs 3 -f -n 0 | grep connect`,
};

/** The help of `command`, or undefined for a command with none here. */
export function commandHelp(command: string): string | undefined {
  const h = HELP[command];
  return h === undefined ? undefined : `${h}\n\n${GLOBAL}\n`;
}
