// SPDX-License-Identifier: MIT
/*
 * tools/plmcd/sock.c - a socket's address as text, for the startup line,
 * the port file, "stats conns" and the watcher's lines (apart from
 * main.c so the fuzz target, which has no main.c, links it too).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "plmcd.h"

/* The address and port of socket @fd (IPv4 or IPv6): its family, or -1. */
int sock_ip_port(int fd, int peer, char *ip, size_t n, unsigned *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&ss,
					       &len))
		return -1;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)n);
		*port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in->sin6_addr, ip, (socklen_t)n);
		*port = ntohs(in->sin6_port);
	}
	return ss.ss_family;
}
