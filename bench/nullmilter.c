/*
 * nullmilter.c - a libmilter milter that does nothing but take the whole
 * message and accept it: every callback up to the body returns
 * SMFIS_CONTINUE, eom returns SMFIS_ACCEPT. Driving it with miltergen
 * measures the cost of the milter protocol and libmilter alone.
 *
 *   nullmilter -p SOCKET [-t TIMEOUT_S]
 *
 * SOCKET is unix:/path, inet:PORT@127.0.0.1 or inet6:PORT@[::1]. On SIGTERM
 * or SIGINT it stops and prints how many messages and body bytes it saw.
 */
#define _POSIX_C_SOURCE 200809L
#include <libmilter/mfapi.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong n_messages;
static atomic_ulong n_body_bytes;

static sfsistat nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx; (void)host; (void)addr;
	return SMFIS_CONTINUE;
}

static sfsistat nm_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx; (void)helo;
	return SMFIS_CONTINUE;
}

static sfsistat nm_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx; (void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat nm_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx; (void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat nm_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx; (void)name; (void)value;
	return SMFIS_CONTINUE;
}

static sfsistat nm_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat nm_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx; (void)chunk;
	atomic_fetch_add(&n_body_bytes, len);
	return SMFIS_CONTINUE;
}

static sfsistat nm_eom(SMFICTX *ctx)
{
	(void)ctx;
	atomic_fetch_add(&n_messages, 1);
	return SMFIS_ACCEPT;
}

static struct smfiDesc nullmilter_desc = {
	.xxfi_name = "nullmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,
	.xxfi_connect = nm_connect,
	.xxfi_helo = nm_helo,
	.xxfi_envfrom = nm_envfrom,
	.xxfi_envrcpt = nm_envrcpt,
	.xxfi_header = nm_header,
	.xxfi_eoh = nm_eoh,
	.xxfi_body = nm_body,
	.xxfi_eom = nm_eom,
};

static void usage(void)
{
	fprintf(stderr, "usage: nullmilter -p SOCKET [-t TIMEOUT_S]\n");
	exit(2);
}

/* Open the socket (removing a stale unix socket) and register; exits on failure. */
static void setup(const char *sock, int timeout)
{
	(void)smfi_setmaxdatasize(1048575); /* returns the old size, never fails */
	if (smfi_setconn((char *)sock) == MI_FAILURE || smfi_settimeout(timeout) == MI_FAILURE ||
	    smfi_register(nullmilter_desc) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "nullmilter: cannot set up milter on %s\n", sock);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	int timeout = 30, ch, rc;

	while ((ch = getopt(argc, argv, "p:t:h")) != -1) {
		switch (ch) {
		case 'p': sock = optarg; break;
		case 't': timeout = atoi(optarg); break;
		default: usage();
		}
	}
	if (sock == NULL || timeout <= 0)
		usage();
	setup(sock, timeout);
	rc = smfi_main();
	printf("nullmilter: %lu messages, %lu body bytes\n", atomic_load(&n_messages),
	       atomic_load(&n_body_bytes));
	return rc == MI_SUCCESS ? 0 : 1;
}
