// SPDX-License-Identifier: MIT
/*
 * test_auth - plmcd's -Y auth file and login exchange (tools/plmcd/auth.c)
 * and conn_user(): the file's rules, every reply of the login, that
 * nothing but the login runs before it succeeds, and the user it leaves
 * on the connection; with -o tenant_map, the tenant a login gives the
 * connection. auth.c, buf.c and tenant.c are compiled in (their statics
 * are what is tested); g_opt is this test's.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tools/plmcd/plmcd.h"
#include "../../tools/plmcd/auth.c"
#include "../../tools/plmcd/buf.c"
#include "../../tools/plmcd/tenant.c"

struct plmcd_opts g_opt;
static char path[] = "/tmp/test_auth.XXXXXX";

static int write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void setup(void)
{
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(write_file("alice:wonder:land\r\n\nbob:builder\n"), 0);
	ck_assert_int_eq(auth_load(path), 0);
	g_opt.auth_file = path;
}

static void teardown(void)
{
	unlink(path);
	memcpy(path + strlen(path) - 6, "XXXXXX", 6);
}

/* Feed @in to a fresh connection; @out gets the replies. */
static size_t feed(struct conn *c, const char *in)
{
	buf_add(&c->in, in, strlen(in));
	return auth_ascii(c);
}

static int said(const struct conn *c, const char *s)
{
	return c->out.len - c->out.off == strlen(s) &&
	       !memcmp(c->out.p + c->out.off, s, strlen(s));
}

static void done(struct conn *c)
{
	buf_free(&c->in);
	buf_free(&c->out);
}

START_TEST(other_commands_refused)
{
	static const char *const lines[] = {
		"get foo\r\n",	"delete foo\r\n",  "flush_all\r\n",
		"mg foo v\r\n", "set foo 0 0\r\n", "set foo 0 0 x\r\n",
		"version\r\n",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct conn c = {.fd = -1};

		ck_assert_uint_eq(feed(&c, lines[i]), strlen(lines[i]));
		ck_assert(said(&c, "CLIENT_ERROR unauthenticated\r\n"));
		ck_assert_ptr_null(conn_user(&c));
		done(&c);
	}
}
END_TEST

START_TEST(login_waits_for_data)
{
	struct conn c = {.fd = -1};

	ck_assert_uint_eq(feed(&c, "set a 0 0 11\r\nbob bui"), 0);
	ck_assert_uint_eq(c.out.len, 0);
	ck_assert_uint_eq(feed(&c, "lder\r\n"), c.in.len);
	ck_assert(said(&c, "STORED\r\n"));
	ck_assert_str_eq(conn_user(&c), "bob");
	done(&c);
}
END_TEST

START_TEST(password_with_colon_and_crlf_file)
{
	struct conn c = {.fd = -1};

	feed(&c, "set a 0 0 17\r\nalice wonder:land\r\n");
	ck_assert(said(&c, "STORED\r\n"));
	ck_assert_str_eq(conn_user(&c), "alice");
	done(&c);
}
END_TEST

START_TEST(wrong_password_counted)
{
	struct conn c = {.fd = -1};
	uint64_t cmds = auth_cmds, errs = auth_errors;

	feed(&c, "set a 0 0 10\r\nbob builde\r\n");
	ck_assert(said(&c, "CLIENT_ERROR authentication failure\r\n"));
	ck_assert_ptr_null(conn_user(&c));
	ck_assert(!c.authed);
	ck_assert_uint_eq(auth_cmds, cmds + 1);
	ck_assert_uint_eq(auth_errors, errs + 1);
	done(&c);
}
END_TEST

START_TEST(malformed_logins)
{
	struct conn c = {.fd = -1};

	feed(&c, "set a 0 0 3\r\nbobXY");
	ck_assert(said(&c, "CLIENT_ERROR bad command line termination\r\n"));
	done(&c);
	c = (struct conn){.fd = -1};
	feed(&c, "set a 0 0 3\r\nbob\r\n");
	ck_assert(said(&c, "CLIENT_ERROR bad authentication token format\r\n"));
	ck_assert(!c.authed);
	done(&c);
	/* past 1 KiB: not a login; the block is then read as lines */
	c = (struct conn){.fd = -1};
	feed(&c, "set a 0 0 2000\r\n");
	ck_assert(said(&c, "CLIENT_ERROR unauthenticated\r\n"));
	done(&c);
}
END_TEST

START_TEST(bad_file_keeps_table)
{
	struct conn c = {.fd = -1};

	ck_assert_int_eq(write_file("carol:x\nno colon\n"), 0);
	ck_assert_int_eq(auth_load(path), -1);
	ck_assert_int_eq(write_file(":nouser\n"), 0);
	ck_assert_int_eq(auth_load(path), -1);
	feed(&c, "set a 0 0 11\r\nbob builder\r\n");
	ck_assert(said(&c, "STORED\r\n"));
	done(&c);
	c = (struct conn){.fd = -1};
	feed(&c, "set a 0 0 7\r\ncarol x\r\n");
	ck_assert(said(&c, "CLIENT_ERROR authentication failure\r\n"));
	done(&c);
}
END_TEST

START_TEST(user_name_bounded)
{
	struct conn c = {.fd = -1};
	char name[400];

	memset(name, 'u', sizeof(name));
	auth_set_user(&c, name, sizeof(name));
	ck_assert_uint_eq(strlen(conn_user(&c)), PLMCD_USER_MAX);
	/* without -Y and -S a connection is let in with no name */
	c = (struct conn){.fd = -1, .authed = 1};
	ck_assert_ptr_null(conn_user(&c));
}
END_TEST

/* -o tenant_map: its syntax, and the tenant a login leaves (a user it
 * does not name: none, refused). */
START_TEST(tenant_map_login)
{
	struct conn c = {.fd = -1};

	ck_assert_int_eq(tenant_map_ok("alice:1001:bob:1002"), 0);
	ck_assert_int_ne(tenant_map_ok(""), 0);
	ck_assert_int_ne(tenant_map_ok("alice"), 0);
	ck_assert_int_ne(tenant_map_ok("alice:"), 0);
	ck_assert_int_ne(tenant_map_ok(":1001"), 0);
	ck_assert_int_ne(tenant_map_ok("alice:10x"), 0);
	ck_assert_int_ne(tenant_map_ok("alice:4294967295"), 0);
	ck_assert_int_ne(tenant_map_ok("alice:1001:"), 0);
	g_opt.tenant_map = "alice:1001:bob:1002";
	feed(&c, "set a 0 0 17\r\nalice wonder:land\r\n");
	ck_assert(said(&c, "STORED\r\n"));
	ck_assert_int_eq(c.has_tenant, 1);
	ck_assert_uint_eq(c.tenant, 1001);
	ck_assert_int_eq(c.tenant_dirty, 1);
	done(&c);
	c = (struct conn){.fd = -1};
	auth_set_user(&c, "bo", 2); /* a prefix of bob is no bob */
	ck_assert_int_eq(c.has_tenant, -1);
	ck_assert_int_eq(tenant_enter(&c), -1);
	g_opt.tenant_map = NULL;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth");
	TCase *t = tcase_create("auth");
	SRunner *r;
	int failed;

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, other_commands_refused);
	tcase_add_test(t, login_waits_for_data);
	tcase_add_test(t, password_with_colon_and_crlf_file);
	tcase_add_test(t, wrong_password_counted);
	tcase_add_test(t, malformed_logins);
	tcase_add_test(t, bad_file_keeps_table);
	tcase_add_test(t, user_name_bounded);
	tcase_add_test(t, tenant_map_login);
	suite_add_tcase(s, t);
	r = srunner_create(s);
	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? 1 : 0;
}
