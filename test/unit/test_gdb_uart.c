/*
 * The 16550 driver (src/gdbstub/uart.c) against a simulated UART linked in
 * place of pio.c: register programming, polled receive and transmit with a
 * busy transmitter, and the stub served through gdb_uart_poll().
 */
#include <check.h>
#include "test_gdb_fake.h"
#include <stdlib.h>
#include <string.h>

#define BASE GDB_COM2

static struct {
    uint8_t reg[8], dll, dlm;
    char rx[4096];
    size_t rxlen, rxpos;
    char tx[8192];
    size_t txlen;
    unsigned busy;          /* LSR reads that report THRE = 0 before each byte */
    unsigned busy_left, lsr_reads, bad_port;
} u;

uint8_t gdb_pio_inb(uint16_t port)
{
    unsigned r = port - BASE;
    if (port < BASE || r > 7) {
        u.bad_port++;
        return 0xff;
    }
    if (r == 5) {                                   /* LSR */
        uint8_t lsr = 0;
        u.lsr_reads++;
        if (u.rxpos < u.rxlen)
            lsr |= 0x01;
        if (u.busy_left)
            u.busy_left--;
        else
            lsr |= 0x60;
        return lsr;
    }
    if (r == 0 && !(u.reg[3] & 0x80))              /* RBR */
        return u.rxpos < u.rxlen ? (uint8_t)u.rx[u.rxpos++] : 0;
    return u.reg[r];
}

void gdb_pio_outb(uint16_t port, uint8_t v)
{
    unsigned r = port - BASE;
    if (port < BASE || r > 7) {
        u.bad_port++;
        return;
    }
    if (u.reg[3] & 0x80 && r <= 1) {               /* DLAB: divisor latch */
        if (r == 0) u.dll = v; else u.dlm = v;
        return;
    }
    if (r == 0) {                                   /* THR */
        ck_assert_msg(u.busy_left == 0, "wrote THR while the transmitter was busy");
        u.tx[u.txlen++] = (char)v;
        u.busy_left = u.busy;
        return;
    }
    u.reg[r] = v;
}

static void setup(void)
{
    memset(&u, 0, sizeof(u));
}

static void rx_str(const char *s)
{
    memcpy(u.rx + u.rxlen, s, strlen(s));
    u.rxlen += strlen(s);
}

START_TEST(init_programs_8n1_and_divisor)
{
    gdb_uart_init(BASE, 115200);
    ck_assert_uint_eq(u.dll, 1);
    ck_assert_uint_eq(u.dlm, 0);
    ck_assert_uint_eq(u.reg[3], 0x03);              /* 8N1, DLAB off again */
    ck_assert_uint_eq(u.reg[1], 0x00);              /* no interrupts */
    ck_assert_uint_eq(u.reg[2] & 0x01, 1);          /* FIFOs on */
    gdb_uart_init(BASE, 9600);
    ck_assert_uint_eq(u.dll, 12);
    gdb_uart_init(BASE, 300);
    ck_assert_uint_eq(u.dll, 0x80);
    ck_assert_uint_eq(u.dlm, 0x01);                 /* 384 */
    ck_assert_uint_eq(u.bad_port, 0);
}
END_TEST

START_TEST(getc_polls)
{
    uint8_t c;
    ck_assert(!gdb_uart_getc(BASE, &c));
    rx_str("ab");
    ck_assert(gdb_uart_getc(BASE, &c));
    ck_assert_uint_eq(c, 'a');
    ck_assert(gdb_uart_getc(BASE, &c));
    ck_assert_uint_eq(c, 'b');
    ck_assert(!gdb_uart_getc(BASE, &c));
}
END_TEST

START_TEST(tx_waits_for_thre)
{
    u.busy = 3;
    gdb_uart_tx((void *)(uintptr_t)BASE, (const uint8_t *)"hello", 5);
    ck_assert_uint_eq(u.txlen, 5);
    ck_assert_int_eq(memcmp(u.tx, "hello", 5), 0);
    ck_assert_uint_ge(u.lsr_reads, 4 * 4 + 1);     /* it really polled */
}
END_TEST

START_TEST(stub_over_uart)
{
    static struct fake f;
    static struct gdb_stub s;

    fake_init(&f, GUEST_PAGING_PAE);
    gdb_uart_init(BASE, 115200);
    gdb_stub_init(&s, &fake_ops, &f, gdb_uart_tx, (void *)(uintptr_t)BASE);
    u.busy = 1;
    rx_str("+$qC#b4");
    ck_assert_int_eq(gdb_uart_poll(&s, BASE, false), GDB_ACT_NONE);
    u.tx[u.txlen] = '\0';
    ck_assert_str_eq(u.tx, "+$QC1#c5");
    /* blocking poll returns on the resume, leaving later bytes queued */
    rx_str("$m400000,2#ef$c#63$qC#b4");
    ck_assert_int_eq(gdb_uart_poll(&s, BASE, true), GDB_ACT_RESUME);
    u.tx[u.txlen] = '\0';
    ck_assert_str_eq(u.tx, "+$QC1#c5+$b800#fa+");
    ck_assert_uint_eq(u.rxlen - u.rxpos, 6);       /* "$qC#b4" still queued */
    ck_assert_int_eq(gdb_uart_poll(&s, BASE, false), GDB_ACT_NONE);
    ck_assert_uint_eq(u.rxpos, u.rxlen);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gdb_uart");
    TCase *tc = tcase_create("16550");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, init_programs_8n1_and_divisor);
    tcase_add_test(tc, getc_polls);
    tcase_add_test(tc, tx_waits_for_thre);
    tcase_add_test(tc, stub_over_uart);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
