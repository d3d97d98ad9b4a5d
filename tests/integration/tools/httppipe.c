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

int main(int argc, char **argv)
{
	int timeout = 5000, shut = 1, i = 1, fd;
	struct sockaddr_storage ss;
	socklen_t sl;
	char *in = NULL, buf[65536];
	size_t inlen = 0, incap = 0;
	ssize_t n;

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
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, argv[i], &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)atoi(argv[i + 1]));
		sl = sizeof(*s4);
	} else if (inet_pton(AF_INET6, argv[i], &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)atoi(argv[i + 1]));
		sl = sizeof(*s6);
	} else {
		fprintf(stderr, "cairn-httppipe: bad address %s\n", argv[i]);
		return 1;
	}
	while ((n = read(0, buf, sizeof(buf))) > 0) {
		if (inlen + (size_t)n > incap) {
			incap = (inlen + (size_t)n) * 2;
			char *p = realloc(in, incap);
			if (!p)
				return 1;
			in = p;
		}
		memcpy(in + inlen, buf, (size_t)n);
		inlen += (size_t)n;
	}
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
	close(fd);
	return 0;
}
