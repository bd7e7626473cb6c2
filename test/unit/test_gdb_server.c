/*
 * Serve the fake target with the real stub on a TCP socket on 127.0.0.1,
 * for test/e2e/gdb_hosted.sh: `test_gdb_server [--long] PORTFILE` writes the
 * port it listens on to PORTFILE, accepts one connection and serves it until
 * GDB detaches, kills or hangs up.  Bounded by alarm(): it never outlives a
 * broken test.  Exit status 0 = clean end of session.
 */
#include "test_gdb_fake.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct fake f;
static struct gdb_stub stub;

static void tx(void *ctx, const uint8_t *buf, size_t n)
{
    int fd = *(int *)ctx;
    while (n) {
        ssize_t k = write(fd, buf, n);
        if (k <= 0)
            exit(3);
        buf += k;
        n -= (size_t)k;
    }
}

int main(int argc, char **argv)
{
    enum guest_paging mode = GUEST_PAGING_PAE;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t sl = sizeof(sa);
    int ls, fd, one = 1, noack_used = 0;
    const char *portfile;
    FILE *pf;

    if (argc > 2 && strcmp(argv[1], "--long") == 0) {
        mode = GUEST_PAGING_LONG;
        argv++, argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: test_gdb_server [--long] PORTFILE\n");
        return 2;
    }
    portfile = argv[1];
    alarm(120);
    fake_init(&f, mode);

    ls = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 1) < 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
        perror("test_gdb_server: listen");
        return 2;
    }
    pf = fopen(portfile, "w");
    if (!pf)
        return 2;
    fprintf(pf, "%u\n", ntohs(sa.sin_port));
    fclose(pf);
    fd = accept(ls, NULL, NULL);
    if (fd < 0)
        return 2;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    gdb_stub_init(&stub, &fake_ops, &f, tx, &fd);
    f.stub = &stub;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        uint8_t buf[512];
        struct gdb_stop why;
        ssize_t n;

        /* running: poll without blocking, then run a slice of the guest */
        if (poll(&p, 1, stub.running ? 0 : 1000) > 0) {
            n = read(fd, buf, sizeof(buf));
            if (n <= 0)
                break;                      /* GDB hung up */
            for (ssize_t i = 0; i < n; i++) {
                enum gdb_action a = gdb_stub_input(&stub, buf[i]);
                noack_used |= stub.rsp.noack;
                if (a == GDB_ACT_INTERRUPT) {
                    for (unsigned c = 0; c < FAKE_NCPUS; c++)
                        f.run[c] = GDB_RUN_STOP;
                    why = (struct gdb_stop){ .cpu = 0, .signal = GDB_SIGINT };
                    gdb_stub_stopped(&stub, &why);
                } else if (a == GDB_ACT_DETACH && f.killed) {
                    goto out;
                }
            }
        }
        if (stub.running && !f.detached && fake_run(&f, 1000, &why))
            gdb_stub_stopped(&stub, &why);
    }
out:
    fprintf(stderr, "test_gdb_server: packets=%lu unknown=%lu naks=%lu noack-used=%d insns=%llu steps=%llu\n",
            stub.packets, stub.unknown, stub.rsp.naks_sent, noack_used,
            (unsigned long long)f.insns, (unsigned long long)f.steps);
    close(fd);
    return 0;
}
