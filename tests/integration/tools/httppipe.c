/*
 * cairn-httppipe -- send raw bytes to an HTTP server in one write, print what
 * comes back.
 *
 *   cairn-httppipe [--timeout MS] [--no-shutdown] ADDR PORT < REQUESTS
 *
 * Reads all of stdin (e.g. three pipelined requests), connects to ADDR:PORT
 * over TCP, sends the bytes with a single send(2) -- so the server sees the
 * requests pipelined in one segment -- then shuts down its sending side
 * (unless --no-shutdown) and copies everything the server sends to stdout
 * until the server closes or MS milliseconds (default 5000) pass without data.
 * A test tool for tests/integration/http_origin.sh (netcat is not a
 * dependency). Exit status: 0 the server closed, 2 timeout, 1 error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool_addr.h"

/* All of stdin in *in (malloc'd, the caller frees; NULL when empty), *inlen bytes;
 * a read error ends the input like EOF. 0 or -ENOMEM. */
static int read_stdin(char **in, size_t *inlen)
{
	char buf[65536];
	size_t incap = 0;
	ssize_t n;

	*in = NULL;
	*inlen = 0;
	while ((n = read(0, buf, sizeof(buf))) > 0) {
		if (*inlen + (size_t)n > incap) {
			incap = (*inlen + (size_t)n) * 2;
			char *p = realloc(*in, incap);
			if (!p)
				return -ENOMEM;
			*in = p;
		}
		memcpy(*in + *inlen, buf, (size_t)n);
		*inlen += (size_t)n;
	}
	return 0;
}

/* Copy what the server sends on fd to stdout until it closes (or resets): exit
 * status 0; 2 after timeout ms without data; 1 on an error. */
static int relay(int fd, int timeout)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, timeout);
		if (r == 0)
			return 2;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == ECONNRESET)
				break;
			perror("cairn-httppipe: recv");
			return 1;
		}
		fwrite(buf, 1, (size_t)n, stdout);
	}
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	int timeout = 5000, shut = 1, i = 1, fd, rc;
	struct sockaddr_storage ss;
	socklen_t sl;
	char *in = NULL;
	size_t inlen = 0;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-shutdown") == 0)
			shut = 0;
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: cairn-httppipe [--timeout MS] [--no-shutdown] ADDR PORT < REQUESTS\n");
		return 1;
	}
	if (tool_addr_parse(argv[i], argv[i + 1], &ss, &sl) < 0) {
		fprintf(stderr, "cairn-httppipe: bad address %s\n", argv[i]);
		return 1;
	}
	if (read_stdin(&in, &inlen) < 0)
		return 1;
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		perror("cairn-httppipe: connect");
		free(in);
		return 1;
	}
	if (inlen && send(fd, in, inlen, 0) != (ssize_t)inlen) {
		perror("cairn-httppipe: send");
		free(in);
		return 1;
	}
	free(in);
	in = NULL;
	if (shut)
		shutdown(fd, SHUT_WR);
	rc = relay(fd, timeout);
	close(fd);
	return rc;
}
