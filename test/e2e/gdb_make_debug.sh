#!/bin/sh
# make debug as a user runs it (issue 17 item 1), in QEMU: test/e2e/gdb_debug.sh
#  1. on a terminal (a pseudo-terminal; the script is the session leader's
#     foreground group, as under a shell prompt): the printed gdb command
#     attaches (QEMU is not stopped by SIGTTIN), and Ctrl-C typed on that
#     terminal ends the emulator;
#  2. with stdin at /dev/null: the printed command attaches, and `kill` in gdb
#     ends the emulator, as the script says.
# Both check that the printed command uses `file` and `set remotetimeout` and
# says what ends the session.  Exit 0 pass, 1 fail.  About 10 s.
. "$(dirname "$0")/gdb_svm_lib.sh"
command -v "$GDB" >/dev/null 2>&1 || { echo "FAIL: gdb not found"; exit 1; }
for f in "$GUEST" "$UMBRA_ELF"; do [ -f "$f" ] || { echo "FAIL: missing $f (run make)"; exit 1; }; done
work=$(mktemp -d "${TMPDIR:-/tmp}/gdb_make_debug.XXXXXX")
trap 'rm -rf "$work"' EXIT
GUEST="$GUEST" GDB="$GDB" SCRIPT="$srcdir_abs/test/e2e/gdb_debug.sh" ENTRY=$(sym _start) \
    top_builddir="$work" top_srcdir="$srcdir_abs" timeout -s KILL 150 python3 - <<'PY'
import os, pty, re, select, shlex, signal, subprocess, sys, time

guest, gdb, script, entry = (os.environ[k] for k in ("GUEST", "GDB", "SCRIPT", "ENTRY"))
fails = []

def emulators(port):
    """pids of processes whose command line names our COM2 port."""
    out = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if f"127.0.0.1:{port}," in l and "qemu" in l]

def read_until(fd, pat, t):
    buf, end = b"", time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                break
            if not d:
                break
            buf += d
            if re.search(pat, buf):
                return buf.decode(errors="replace"), True
    return buf.decode(errors="replace"), False

def attach(text, extra):
    m = re.search(r"^\s*(\S*gdb .*target remote.*)$", text, re.M)
    if not m:
        fails.append("no gdb command printed"); return "", None
    cmd = m.group(1).strip()
    for need in ("-ex 'file ", "-ex 'set remotetimeout ", "-ex 'target remote 127.0.0.1:"):
        if need not in cmd:
            fails.append(f"printed command lacks {need!r}: {cmd}")
    if "Ctrl-C" not in text or "'kill'" not in text:
        fails.append("the script does not say what ends the session")
    port = re.search(r"127\.0\.0\.1:(\d+)", cmd).group(1)
    argv = shlex.split(cmd)
    argv[1:1] = ["-nx", "-batch"]
    argv += ["-ex", 'printf "debug-eip=0x%x\\n", $eip'] + extra
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    print(r.stdout.strip())
    if f"debug-eip={entry}" not in r.stdout:
        fails.append(f"gdb did not read eip={entry}: {r.stdout} {r.stderr}")
    return r.stdout, port

# 1. a terminal, then Ctrl-C on it
pid, fd = pty.fork()
if pid == 0:
    os.execvp("sh", ["sh", script, guest])
text, ok = read_until(fd, rb"waiting for GDB", 60)
if not ok:
    fails.append("tty: Umbra never waited for GDB:\n" + text)
    os.kill(pid, signal.SIGKILL)
else:
    _, port = attach(text, ["-ex", "disconnect"])
    st = [l.split()[1] for l in emulators(port)] if port else []
    print("tty: emulator state after the session:", st)
    if any(s.startswith("T") for s in st):
        fails.append(f"tty: QEMU stopped by the terminal: {st}")
    os.write(fd, b"\x03")
    end, rc = time.time() + 15, None
    while time.time() < end and rc is None:
        read_until(fd, rb"\0never", 0.3)
        p, status = os.waitpid(pid, os.WNOHANG)
        rc = status if p else None
    if rc is None:
        fails.append("tty: Ctrl-C did not end make debug"); os.kill(pid, signal.SIGKILL)
    elif port and emulators(port):
        fails.append(f"tty: Ctrl-C left the emulator running: {emulators(port)}")
    else:
        print("tty: Ctrl-C ended the session, script status", os.waitstatus_to_exitcode(rc))

# 2. stdin at /dev/null, then `kill` in gdb
p = subprocess.Popen(["sh", script, guest], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT)
text, ok = read_until(p.stdout.fileno(), rb"waiting for GDB", 60)
if not ok:
    fails.append("devnull: Umbra never waited for GDB:\n" + text)
else:
    out, port = attach(text, ["-ex", "kill"])
    try:
        p.wait(15)
        print("devnull: kill in gdb ended the session, script status", p.returncode)
    except subprocess.TimeoutExpired:
        fails.append("devnull: kill in gdb did not end the emulator"); p.kill()
for f in fails:
    print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
rc=$?
[ $rc -eq 0 ] && echo "PASS: gdb_make_debug"
exit $rc
