// SPDX-License-Identifier: MIT
/*
 * fuzz_proto - libFuzzer target for plmcd's text-protocol parser.
 *
 * Each input is fed to one fresh connection in two reads (the first byte
 * picks the split), so half-sent commands, swallowed data blocks and every
 * command path are exercised. When the second byte is odd the connection
 * runs under -Y (an auth file with one user, "fuzz:pass"), so the login
 * exchange is fuzzed too. The store behind it is store_stub.c (ASan's
 * shadow covers plmc's fixed address); ASan and UBSan watch the parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plmc.h"
#include "../../tools/plmcd/plmcd.h"

struct server_stats g_server;
static struct worker_ctx w;
static char auth_file[] = "/tmp/fuzz_proto_auth.XXXXXX";

/* -Y's file: one user, written once for the whole run */
static int make_auth_file(void)
{
	static const char line[] = "fuzz:pass\n";
	int fd = mkstemp(auth_file);

	if (fd < 0 || write(fd, line, sizeof(line) - 1) != sizeof(line) - 1)
		return -1;
	close(fd);
	return auth_load(auth_file);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_server.item_max = PLMC_ITEM_MAX;
	if (make_auth_file())
		return -1;
	unlink(auth_file);
	return worker_ctx_init(&w);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct conn c = { .fd = -1 };
	size_t split = size ? data[0] % (size + 1) : 0;

	g_opt.auth_file = size > 1 && (data[1] & 1) ? auth_file : NULL;

	buf_add(&c.in, data, split);
	if (proto_run(&c, &w) == 0) {
		buf_add(&c.in, data + split, size - split);
		proto_run(&c, &w);
	}
	watch_drop(&c); /* as main.c's close: a watcher is unlinked first */
	dump_drop(&c);
	buf_free(&c.in);
	buf_free(&c.out);
	return 0;
}
