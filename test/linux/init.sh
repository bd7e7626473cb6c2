#!/bin/sh
# /init of the Linux guest test (run by busybox sh as PID 1).
# Every line it prints that starts with "linux-test: " is compared between a
# bare run and a run under Umbra, so those lines must not depend on timing,
# PIDs, addresses or the CPU: counts and checksums of deterministic work only.
# The workload stresses what a shadow MMU feels: address spaces made and
# destroyed (fork/exec), copy-on-write, pipes, page-cache pages on tmpfs and a
# heap that grows and shrinks.
/bin/busybox mkdir -p /proc /sys /dev /tmp /usr/bin /usr/sbin /sbin
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o size=96m tmpfs /tmp
t() { echo "linux-test: $*"; }
# Not compared: where the time goes (uptime at each phase).
ph() { read -r up _ < /proc/uptime; echo "init: $1 at ${up}s"; }
t "init start, kernel $(uname -r) $(uname -m)"
# Not compared (the runs under Umbra add arguments): the command line as the kernel got it.
echo "init: cmdline: $(cat /proc/cmdline)"
# Not compared (bare QEMU shows svm, Umbra hides it): the CPU flags that say where we run.
echo "init: cpu flags: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -x -e svm -e hypervisor -e pae -e nx | tr '\n' ' ')"
# Not compared (bare QEMU -smp N shows N; under Umbra the guest has one CPU): the CPUs Linux runs.
echo "init: cpus: $(grep -c '^processor' /proc/cpuinfo) in /proc/cpuinfo, online $(cat /sys/devices/system/cpu/online)"

# Last PID the kernel handed out (4th field of /proc/loadavg): counts forks.
lastpid() { read -r _ _ _ _ p < /proc/loadavg; echo "$p"; }

ph "fork-exec storm"
# 1. fork/exec storm: every $(...) forks, every /bin/busybox runs execs.
p0=$(lastpid)
i=0; s=0
while [ $i -lt 500 ]; do
    i=$((i + 1))
    s=$(/bin/busybox expr "$s" + "$i")
done
p1=$(lastpid)
t "fork-exec storm: 500 runs of expr, sum=$s"
if [ $((p1 - p0)) -ge 500 ]; then t "fork-exec storm: >= 500 processes"; else
    t "fork-exec storm: only $((p1 - p0)) processes"; fi

# Nested forks: subshells that fork children of their own.
n=0
for a in 1 2 3 4 5 6 7 8 9 10; do
    n=$((n + $( (for b in 1 2 3 4 5 6 7 8 9 10; do /bin/busybox true & done; wait; echo 10) )))
done
t "nested fork: $n children reaped"

ph pipelines
# 2. pipelines: data through pipes between concurrently running processes.
t "pipeline sum: $(seq 1 100000 | awk '{ s += $1 } END { print s }')"
t "pipeline sort: $(seq 1 20000 | sort -r | sort -n | md5sum | cut -d' ' -f1)"
t "pipeline gzip: $(dd if=/dev/zero bs=64k count=64 2>/dev/null | gzip -1 | gzip -d | wc -c)"

ph "memory churn"
# 3. memory churn: tmpfs working set (page cache) written, read and freed in
#    rounds, and heaps that grow to megabytes and die with their process.
#    The 2 MiB sources are made once (tr touches every byte: in Bochs that
#    CPU work, not paging, dominated the whole run when done every round).
j=0
while [ $j -lt 8 ]; do
    j=$((j + 1))
    dd if=/dev/zero bs=64k count=32 2>/dev/null | tr '\0' "$(printf "\\$((100 + j))")" > /tmp/src$j
done
r=0
while [ $r -lt 6 ]; do
    r=$((r + 1))
    j=0
    while [ $j -lt 8 ]; do
        j=$((j + 1))
        cat /tmp/src$j > /tmp/f$j
    done
    sum=$(cat /tmp/f* | md5sum | cut -d' ' -f1)
    rm -f /tmp/f*
done
rm -f /tmp/src*
t "tmpfs churn: 6 rounds of 16 MiB, last md5 $sum"
ph "heap churn"
# Each awk's heap grows by doubling a string to 16 MiB (every page touched,
# old copies freed: large blocks come and go by mmap/munmap or brk) and by
# a hash of 20000 small entries.
r=0
while [ $r -lt 5 ]; do
    r=$((r + 1))
    out=$(awk -v n=20000 'BEGIN { s = "0123456789abcdef"; for (i = 0; i < 20; i++) s = s s;
                                 for (i = 0; i < n; i++) a[i] = i * 2; t = 0;
                                 for (i = 0; i < n; i++) t += a[i]; print length(s), t }')
done
t "heap churn: 5 awk heaps of a 16 MiB string and 20000 entries: $out"
ph "big file"
dd if=/dev/zero of=/tmp/big bs=1M count=48 2>/dev/null
t "big file: $(md5sum < /tmp/big | cut -d' ' -f1)"
rm -f /tmp/big

ph end
t "done"
# Let the tty drain first: echo returns once the line is in the tty buffer, and
# in Bochs (whose UART keeps baud time) poweroff's own kernel messages otherwise
# cut into the last line ("linux-test[  462.76] ACPI: PM: ... S5").
sleep 1
poweroff -f
