#!/usr/bin/python3
"""Runs a command under the restrictions of a systemd unit, reproduced without systemd as PID 1.

Usage (as root): unit-sandbox.py --unit FILE [--writable DIR]... [--report FILE] -- CMD ARGS...

Reads the [Service] section of FILE and applies, in this order:
  mount namespace (unshare), then ProtectSystem=strict (every mount outside /proc, /sys, /dev
  remounted read-only), ProtectHome=, ProtectProc= (a new /proc with hidepid), ReadOnlyPaths=,
  InaccessiblePaths=, ProtectKernelModules= (/lib/modules hidden), PrivateDevices= (a tmpfs /dev
  with null, zero, full, random, urandom, tty), PrivateTmp= (fresh /tmp, /var/tmp); the --writable
  directories stay writable (they stand for StateDirectory=/RuntimeDirectory=/LogsDirectory=);
  LimitMEMLOCK=, LimitNOFILE=, UMask=; CapabilityBoundingSet= (PR_CAPBSET_DROP), NoNewPrivileges=
  (PR_SET_NO_NEW_PRIVS); then, when python3-seccomp is installed, a seccomp filter for
  SystemCallFilter= (groups expanded by `systemd-analyze syscall-filter`), SystemCallErrorNumber=,
  SystemCallArchitectures=native, RestrictAddressFamilies=, RestrictNamespaces=, RestrictRealtime=,
  LockPersonality=, RestrictSUIDSGID= (chmod family). Then execs CMD.

What it cannot reproduce (cgroup and systemd-side settings) is listed in the report under
"static": IPAddressDeny/Allow, DeviceAllow, MemoryMax/High, ProtectClock's device ACL, KeyringMode,
OOMPolicy, Restart, ExecStartPre. The report (JSON) says what was applied.
"""
import ctypes
import errno
import json
import os
import resource
import subprocess
import sys

CLONE_NEWNS = 0x00020000
PR_CAPBSET_DROP = 24
MS_BIND = 4096
PR_SET_NO_NEW_PRIVS = 38
NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080
CAPS = ['chown', 'dac_override', 'dac_read_search', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap',
        'linux_immutable', 'net_bind_service', 'net_broadcast', 'net_admin', 'net_raw', 'ipc_lock', 'ipc_owner',
        'sys_module', 'sys_rawio', 'sys_chroot', 'sys_ptrace', 'sys_pacct', 'sys_admin', 'sys_boot', 'sys_nice',
        'sys_resource', 'sys_time', 'sys_tty_config', 'mknod', 'lease', 'audit_write', 'audit_control', 'setfcap',
        'mac_override', 'mac_admin', 'syslog', 'wake_alarm', 'block_suspend', 'audit_read', 'perfmon', 'bpf',
        'checkpoint_restore']
AF = {'AF_UNIX': 1, 'AF_LOCAL': 1, 'AF_INET': 2, 'AF_INET6': 10, 'AF_NETLINK': 16, 'AF_PACKET': 17}

libc = ctypes.CDLL(None, use_errno=True)
report = {'applied': [], 'static': [], 'notes': []}


def die(msg):
    sys.stderr.write(f'unit-sandbox: {msg}\n')
    sys.exit(125)


def parse_unit(path):
    svc = {}
    section = None
    for raw in open(path, encoding='utf-8'):
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('['):
            section = line
            continue
        if section != '[Service]' or '=' not in line:
            continue
        k, v = line.split('=', 1)
        svc.setdefault(k.strip(), []).append(v.strip())
    return svc


def last(svc, key, default=''):
    return svc.get(key, [default])[-1]


def truthy(v):
    return v.lower() in ('yes', 'true', '1', 'on')


def sh(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")


def mountpoints():
    out = []
    for line in open('/proc/self/mountinfo'):
        mp = line.split()[4].replace('\\040', ' ')
        out.append(mp)
    return out


def under(p, roots):
    return any(p == r or p.startswith(r.rstrip('/') + '/') for r in roots)


def make_ro(path, recursive=True):
    if path not in mountpoints():
        sh('mount', '--bind', path, path)
    for mp in sorted(set(mountpoints())):
        if mp == path or (recursive and under(mp, [path])):
            try:
                sh('mount', '-o', 'remount,bind,ro', mp)
            except RuntimeError as e:
                report['notes'].append(f'could not make {mp} read-only: {e}')


EMPTY_DIR = '/run/unit-sandbox-inaccessible'


def make_inaccessible(path):
    if os.path.isdir(path):
        sh('mount', '-t', 'tmpfs', '-o', 'ro,mode=000,size=4k', 'inaccessible', path)
    else:
        sh('mount', '--bind', EMPTY_DIR + '/reg', path)


def setup_mounts(svc, writable):
    if libc.unshare(CLONE_NEWNS) != 0:
        die(f'unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}')
    sh('mount', '--make-rprivate', '/')
    report['applied'].append('mount namespace')
    # A file with mode 0000 for InaccessiblePaths= on files, like systemd's /run/systemd/inaccessible/reg.
    os.makedirs(EMPTY_DIR, exist_ok=True)
    sh('mount', '-t', 'tmpfs', '-o', 'mode=755,size=16k', 'sandbox', EMPTY_DIR)
    open(EMPTY_DIR + '/reg', 'w').close()
    os.chmod(EMPTY_DIR + '/reg', 0)
    # Keep handles on the writable directories: PrivateTmp= hides them when they live under /tmp.
    for w in writable:
        sh('mount', '--bind', w, w)
    fds = {w: os.open(w, os.O_PATH | os.O_DIRECTORY) for w in writable}

    mode = last(svc, 'ProtectProc', 'default')
    if mode in ('invisible', 'noaccess', 'ptraceable'):
        sh('mount', '-t', 'proc', '-o', f'nosuid,nodev,noexec,hidepid={mode}', 'proc', '/proc')
        report['applied'].append(f'ProtectProc={mode}')
    if last(svc, 'ProtectSystem') == 'strict':
        for mp in sorted(set(mountpoints())):
            if under(mp, ['/proc', '/sys', '/dev']) or mp in writable or mp == EMPTY_DIR:
                continue
            try:
                sh('mount', '-o', 'remount,bind,ro', mp)
            except RuntimeError as e:
                report['notes'].append(f'could not make {mp} read-only: {e}')
        report['applied'].append('ProtectSystem=strict')
    home = last(svc, 'ProtectHome', 'no')
    for p in ('/home', '/root', '/run/user'):
        if not os.path.exists(p) or any(under(w, [p]) for w in writable):
            continue
        if home == 'read-only':
            make_ro(p)
        elif truthy(home) or home == 'tmpfs':
            make_inaccessible(p)
    if home != 'no':
        report['applied'].append(f'ProtectHome={home}')
    for entry in ' '.join(svc.get('ReadOnlyPaths', [])).split():
        p = entry.lstrip('-+')
        if os.path.exists(p):
            make_ro(p)
            report['applied'].append(f'ReadOnlyPaths={p}')
        elif not entry.startswith('-'):
            die(f'ReadOnlyPaths={p} does not exist')
    for entry in ' '.join(svc.get('InaccessiblePaths', [])).split():
        p = entry.lstrip('-+')
        if os.path.exists(p):
            make_inaccessible(p)
            report['applied'].append(f'InaccessiblePaths={p}')
        elif not entry.startswith('-'):
            die(f'InaccessiblePaths={p} does not exist')
    if truthy(last(svc, 'ProtectKernelModules', 'no')):
        for p in ('/lib/modules', '/usr/lib/modules'):
            if os.path.isdir(p) and not os.path.islink(p):
                make_inaccessible(p)
        report['applied'].append('ProtectKernelModules=yes (mounts; the capability and @module are below)')
    if truthy(last(svc, 'ProtectControlGroups', 'no')):
        if os.path.isdir('/sys/fs/cgroup'):
            make_ro('/sys/fs/cgroup')
        report['applied'].append('ProtectControlGroups=yes')
    if truthy(last(svc, 'PrivateDevices', 'no')):
        sh('mount', '-t', 'tmpfs', '-o', 'nosuid,noexec,mode=755,size=64k', 'dev', '/dev')
        for name, major, minor in (('null', 1, 3), ('zero', 1, 5), ('full', 1, 7), ('random', 1, 8), ('urandom', 1, 9), ('tty', 5, 0)):
            os.mknod('/dev/' + name, 0o666 | 0o020000, os.makedev(major, minor))
            os.chmod('/dev/' + name, 0o666)
        os.makedirs('/dev/shm')
        sh('mount', '-t', 'tmpfs', '-o', 'nosuid,nodev,mode=1777', 'shm', '/dev/shm')
        for name, target in (('fd', '/proc/self/fd'), ('stdin', '/proc/self/fd/0'), ('stdout', '/proc/self/fd/1'), ('stderr', '/proc/self/fd/2')):
            os.symlink(target, '/dev/' + name)
        report['applied'].append('PrivateDevices=yes (mounts; the device ACL is static)')
    if truthy(last(svc, 'PrivateTmp', 'no')):
        for t in ('/tmp', '/var/tmp'):
            sh('mount', '-t', 'tmpfs', '-o', 'nosuid,nodev,mode=1777', 'privatetmp', t)
        for w, fd in fds.items():
            if under(w, ['/tmp', '/var/tmp']):
                os.makedirs(w, exist_ok=True)
                # mount(8) would canonicalise the magic link into the now hidden path: call mount(2).
                if libc.mount(f'/proc/self/fd/{fd}'.encode(), w.encode(), None, MS_BIND, None) != 0:
                    die(f'bind {w}: {os.strerror(ctypes.get_errno())}')
        report['applied'].append('PrivateTmp=yes')
    for fd in fds.values():
        os.close(fd)
    report['applied'].append('writable: ' + ' '.join(writable))


def setup_process(svc):
    for key, res in (('LimitMEMLOCK', resource.RLIMIT_MEMLOCK), ('LimitNOFILE', resource.RLIMIT_NOFILE)):
        v = last(svc, key)
        if v:
            n = resource.RLIM_INFINITY if v == 'infinity' else int(v)
            hard = resource.getrlimit(res)[1]
            try:
                resource.setrlimit(res, (n, n))
                report['applied'].append(f'{key}={v}')
            except (ValueError, OSError):
                # Raising a hard limit needs CAP_SYS_RESOURCE, which some sandboxes (this CI) lack.
                resource.setrlimit(res, (hard, hard))
                report['notes'].append(f'{key}={v} not reproducible here (no CAP_SYS_RESOURCE): kept the hard limit {hard}')
    if last(svc, 'UMask'):
        os.umask(int(last(svc, 'UMask'), 8))
        report['applied'].append(f'UMask={last(svc, "UMask")}')
    if 'CapabilityBoundingSet' in svc:
        keep = {c.lower().removeprefix('cap_') for c in ' '.join(svc['CapabilityBoundingSet']).split()}
        if truthy(last(svc, 'ProtectKernelModules', 'no')):
            keep.discard('sys_module')
        if truthy(last(svc, 'PrivateDevices', 'no')):
            keep -= {'mknod', 'sys_rawio'}
        if truthy(last(svc, 'ProtectClock', 'no')):
            keep -= {'sys_time', 'wake_alarm'}
        last_cap = int(open('/proc/sys/kernel/cap_last_cap').read())
        for n in range(last_cap + 1):
            name = CAPS[n] if n < len(CAPS) else f'cap_{n}'
            if name not in keep and libc.prctl(PR_CAPBSET_DROP, n, 0, 0, 0) != 0:
                die(f'PR_CAPBSET_DROP {name}: {os.strerror(ctypes.get_errno())}')
        report['applied'].append('CapabilityBoundingSet=' + ' '.join(sorted(keep)))


def expand_groups():
    text = subprocess.run(['systemd-analyze', 'syscall-filter', '--no-pager'], capture_output=True, text=True, check=True).stdout
    groups, cur = {}, None
    for line in text.splitlines():
        if line.startswith('@'):
            cur = line.strip()
            groups[cur] = []
        elif cur and line.strip() and not line.strip().startswith('#'):
            groups[cur].append(line.strip())

    def expand(name, seen=()):
        if not name.startswith('@'):
            return {name}
        out = set()
        for m in groups.get(name, []):
            if m not in seen:
                out |= expand(m, seen + (name,))
        return out
    return expand


def setup_seccomp(svc):
    try:
        import seccomp
    except ImportError:
        report['notes'].append('python3-seccomp not installed: SystemCallFilter=, RestrictAddressFamilies=, RestrictNamespaces=, '
                               'RestrictRealtime=, LockPersonality=, RestrictSUIDSGID= not applied (apt-get install python3-seccomp)')
        return
    expand = expand_groups()
    allow, deny = set(), set()
    for line in svc.get('SystemCallFilter', []):
        neg = line.startswith('~')
        names = line.lstrip('~').split()
        target = deny if neg else allow
        for n in names:
            target |= expand(n)
    allow -= deny
    errno_name = last(svc, 'SystemCallErrorNumber', 'EPERM')
    err = getattr(errno, errno_name)
    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(err) if allow else seccomp.ALLOW)
    A, EQ, MEQ = seccomp.Arg, seccomp.EQ, seccomp.MASKED_EQ
    conditional = {}
    fams = [AF[a] for a in ' '.join(svc.get('RestrictAddressFamilies', [])).split() if a in AF]
    if fams:
        conditional['socket'] = [[A(0, EQ, a)] for a in fams]
        report['applied'].append('RestrictAddressFamilies=' + ' '.join(svc['RestrictAddressFamilies']))
    if truthy(last(svc, 'RestrictNamespaces', 'no')):
        conditional['unshare'] = [[A(0, MEQ, NS_FLAGS, 0)]]
        conditional['clone'] = [[A(0, MEQ, NS_FLAGS, 0)]]
        conditional['setns'] = []
        f.add_rule(seccomp.ERRNO(errno.ENOSYS), 'clone3')  # as systemd: glibc falls back to clone()
        allow.discard('clone3')
        report['applied'].append('RestrictNamespaces=yes')
    if truthy(last(svc, 'RestrictRealtime', 'no')):
        conditional['sched_setscheduler'] = [[A(1, MEQ, 0x3fffffff, p)] for p in (0, 3, 5)]
        report['applied'].append('RestrictRealtime=yes (sched_setscheduler)')
    if truthy(last(svc, 'LockPersonality', 'no')):
        conditional['personality'] = [[A(0, EQ, 0)], [A(0, EQ, 0xffffffff)]]
        report['applied'].append('LockPersonality=yes')
    if truthy(last(svc, 'RestrictSUIDSGID', 'no')):
        conditional['chmod'] = [[A(1, MEQ, 0o6000, 0)]]
        conditional['fchmod'] = [[A(1, MEQ, 0o6000, 0)]]
        conditional['fchmodat'] = [[A(2, MEQ, 0o6000, 0)]]
        report['applied'].append('RestrictSUIDSGID=yes (chmod family; open(O_CREAT) modes not filtered here)')
    unknown = []
    for name in sorted(allow):
        if name in conditional:
            continue
        try:
            f.add_rule(seccomp.ALLOW, name)
        except (ValueError, RuntimeError):
            unknown.append(name)
    for name, rules in conditional.items():
        if allow and name not in allow:
            continue
        for args in rules:
            try:
                f.add_rule(seccomp.ALLOW, name, *args)
            except (ValueError, RuntimeError):
                unknown.append(name)
    if allow:
        report['applied'].append(f'SystemCallFilter= ({len(allow)} system calls allowed, others {errno_name})')
        report['applied'].append('SystemCallArchitectures=native')
    f.load()


def main():
    argv = sys.argv[1:]
    if '--' not in argv:
        die(__doc__.strip().splitlines()[2])
    opts, cmd = argv[:argv.index('--')], argv[argv.index('--') + 1:]
    unit, writable, report_file = None, [], None
    i = 0
    while i < len(opts):
        if opts[i] == '--unit':
            unit = opts[i + 1]
        elif opts[i] == '--writable':
            writable.append(os.path.realpath(opts[i + 1]))
        elif opts[i] == '--report':
            report_file = opts[i + 1]
        else:
            die(f'unknown option {opts[i]}')
        i += 2
    if not unit or not cmd:
        die('need --unit FILE and a command')
    if os.geteuid() != 0:
        die('run as root')
    svc = parse_unit(unit)
    for key in ('IPAddressDeny', 'IPAddressAllow', 'DeviceAllow', 'MemoryMax', 'MemoryHigh', 'KeyringMode',
                'OOMPolicy', 'Restart', 'ExecStartPre', 'PrivateMounts', 'ProtectHostname', 'ProtectClock'):
        if key in svc:
            report['static'].append(f'{key}={last(svc, key)}')
    setup_mounts(svc, writable)
    setup_process(svc)
    if truthy(last(svc, 'NoNewPrivileges', 'no')):
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            die('PR_SET_NO_NEW_PRIVS failed')
        report['applied'].append('NoNewPrivileges=yes')
    # The report is written before the filter: after it, only what the unit allows works.
    setup_seccomp_pending = 'SystemCallFilter' in svc or 'RestrictAddressFamilies' in svc
    if report_file:
        if setup_seccomp_pending:
            report['applied'].append('seccomp: see "seccomp" below')
        with open(report_file, 'w') as fh:
            json.dump(report, fh, indent=1)
    if setup_seccomp_pending:
        setup_seccomp(svc)
        if report_file:
            # Appending is a plain write(): allowed by the filter.
            with open(report_file + '.seccomp', 'w') as fh:
                json.dump(report, fh, indent=1)
    os.execvp(cmd[0], cmd)


if __name__ == '__main__':
    main()
