/*
 * Umbra's vsnprintf (src/kern/printf.c, compiled here under other names so
 * it does not replace the host's) against the host libc's, format by format.
 */
#define vsnprintf umbra_vsnprintf
#define snprintf umbra_snprintf
#include "../../src/kern/printf.c"
#undef vsnprintf
#undef snprintf

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>

#define SAME(...) do { \
        char a[128], b[128]; \
        memset(a, 'X', sizeof(a)); memset(b, 'X', sizeof(b)); \
        int ra = umbra_snprintf(a, sizeof(a), __VA_ARGS__); \
        int rb = snprintf(b, sizeof(b), __VA_ARGS__); \
        ck_assert_str_eq(a, b); \
        ck_assert_int_eq(ra, rb); \
    } while (0)

START_TEST(integers)
{
    SAME("%d %i %u", 0, -1, 42u);
    SAME("%d %d", INT_MIN, INT_MAX);
    SAME("%ld %lu %lld %llu", LONG_MIN, ULONG_MAX, LLONG_MIN, ULLONG_MAX);
    SAME("%x %X %#x %#X %#x", 0xdeadbeefu, 0xabcu, 255u, 255u, 0u);
    SAME("%o %#o %#o", 8u, 8u, 0u);
    SAME("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
    SAME("%zu %zx %jd %td", (size_t)12345, (size_t)0xfff, (intmax_t)-7, (ptrdiff_t)-9);
    SAME("[%5d] [%-5d] [%05d] [%+d] [% d] [%+d]", 42, 42, -42, 42, 42, -3);
    SAME("[%.3d] [%8.3d] [%-8.3x] [%.0d] [%.0x]", 7, -7, 0x1fu, 0, 0u);
    SAME("[%016lx] [%#010x] [%*d] [%-*d] [%.*d]", 0x1234UL, 0xbeefu, 6, 1, 6, 1, 4, 5);
}
END_TEST

START_TEST(strings_and_chars)
{
    SAME("%s|%10s|%-10s|%.2s|%c|%3c|%-3c|%%", "abc", "abc", "abc", "abc", 'z', 'y', 'x');
    SAME("%.*s", 3, "abcdef");
    SAME("umbra: exit reason=%s status=%u", "port-f4", 0u);
    SAME("%p", (void *)0x1234);
}
END_TEST

START_TEST(truncation)
{
    char buf[8];
    memset(buf, 'X', sizeof(buf));
    ck_assert_int_eq(umbra_snprintf(buf, sizeof(buf), "%s", "0123456789"), 10);
    ck_assert_str_eq(buf, "0123456");
    memset(buf, 'X', sizeof(buf));
    ck_assert_int_eq(umbra_snprintf(buf, 1, "abc"), 3);
    ck_assert_int_eq(buf[0], '\0');
    ck_assert_int_eq(buf[1], 'X');
    ck_assert_int_eq(umbra_snprintf(NULL, 0, "%d", 12345), 5);
    ck_assert_int_eq(umbra_snprintf(buf, sizeof(buf), "%08x|", 0x12u), 9);
    ck_assert_str_eq(buf, "0000001");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("core-printf");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, integers);
    tcase_add_test(tc, strings_and_chars);
    tcase_add_test(tc, truncation);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
