/*
 * cairn-udpsend — send one raw DNS message from a hex file, print the reply.
 *
 * A test tool for tests/integration/auth_badinput.sh: it sends bytes exactly
 * as written (malformed packets included) and reports what came back, in one
 * line that shell scripts can match:
 *
 *   cairn-udpsend [--tcp] [--timeout MS] ADDR PORT FILE
 *
 *   reply rcode=FORMERR flags=qr,aa id=0xcafe qd=1 an=0 ns=0 ar=1 len=38
 *   timeout                 no reply within MS milliseconds (default 700)
 *   closed                  TCP only: the server closed the connection
 *   short len=N             a reply shorter than a DNS header
 *
 * FILE holds the message as hex digits; whitespace is ignored and a line is
 * a comment from its first '#' or ';'. An empty message is allowed (zero
 * bytes over UDP, a zero length prefix over TCP). Over TCP the message gets
 * the 2-byte length prefix of RFC 1035 §4.2.2 / RFC 7766 §8.
 *
 *   cairn-udpsend --mutate N SEED [--timeout MS] ADDR PORT FILE
 *
 *   sends N variants of the message over UDP, each with 1 to 4 random bytes
 *   replaced and, one time in four, cut at a random length (a xorshift
 *   generator seeded with SEED: the same run every time); waits up to MS
 *   (default 20) ms for each reply and prints "mutated sent=N replies=R".
 *
 * rcode is the full 12-bit extended RCODE (RFC 6891 §6.1.3) when the reply
 * carries an OPT record, so BADVERS (16) is reported as such.
 * Exit status: 0 reply, 2 timeout/closed, 1 usage or system error.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tool_addr.h"

#define MSG_MAX 65535

static int read_hex(const char *path, uint8_t *buf, size_t *len)
{
	FILE *f = fopen(path, "r");
	int c, nib = -1, comment = 0;
	size_t n = 0;

	if (f == NULL)
		return -errno;
	while ((c = fgetc(f)) != EOF) {
		if (c == '\n') {
			comment = 0;
			continue;
		}
		if (comment || isspace(c))
			continue;
		if (c == '#' || c == ';') {
			comment = 1;
			continue;
		}
		if (!isxdigit(c)) {
			fprintf(stderr, "%s: not a hex digit: '%c'\n", path, c);
			fclose(f);
			return -EINVAL;
		}
		c = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
		if (nib < 0) {
			nib = c;
			continue;
		}
		if (n >= MSG_MAX) {
			fclose(f);
			return -EMSGSIZE;
		}
		buf[n++] = (uint8_t)(nib << 4 | c);
		nib = -1;
	}
	fclose(f);
	if (nib >= 0) {
		fprintf(stderr, "%s: odd number of hex digits\n", path);
		return -EINVAL;
	}
	*len = n;
	return 0;
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), never negative. */
static int ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

/* *deadline = now (CLOCK_MONOTONIC) + ms milliseconds. */
static void deadline_in(int ms, struct timespec *deadline)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (long)(ms % 1000) * 1000000;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
}

/* Wait until fd is readable; 1 readable, 0 timeout, negative errno. */
static int wait_readable(int fd, const struct timespec *deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc;

	do
		rc = poll(&p, 1, ms_left(deadline));
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return rc;
}

/* Read exactly n bytes over TCP: n read, 0 closed early, -ETIMEDOUT, -errno. */
static ssize_t read_full(int fd, uint8_t *buf, size_t n,
			 const struct timespec *deadline)
{
	size_t got = 0;

	while (got < n) {
		int rc = wait_readable(fd, deadline);
		ssize_t r;

		if (rc < 0)
			return rc;
		if (rc == 0)
			return -ETIMEDOUT;
		r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == ECONNRESET ? 0 : -errno;
		if (r == 0)
			return 0;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Skip a (possibly compressed) name at *off; 0, or -EBADMSG when malformed. */
static int skip_name(const uint8_t *m, size_t len, size_t *off)
{
	size_t o = *off;

	for (;;) {
		if (o >= len)
			return -EBADMSG;
		if ((m[o] & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return -EBADMSG;
			*off = o + 2;
			return 0;
		}
		if (m[o] & 0xc0)
			return -EBADMSG;
		if (m[o] == 0) {
			*off = o + 1;
			return 0;
		}
		o += 1u + m[o];
	}
}

/* Find the OPT RR of a reply; its extended RCODE bits, -ENOENT if there is
 * none, -EBADMSG if the reply is malformed before it. */
static int opt_ext_rcode(const uint8_t *m, size_t len)
{
	unsigned qd = m[4] << 8 | m[5];
	unsigned rrs = (m[6] << 8 | m[7]) + (m[8] << 8 | m[9]);
	unsigned ar = m[10] << 8 | m[11];
	size_t off = 12;
	unsigned i;

	for (i = 0; i < qd; i++) {
		if (skip_name(m, len, &off) < 0 || off + 4 > len)
			return -EBADMSG;
		off += 4;
	}
	for (i = 0; i < rrs + ar; i++) {
		unsigned type, rdlen;

		if (skip_name(m, len, &off) < 0 || off + 10 > len)
			return -EBADMSG;
		type = m[off] << 8 | m[off + 1];
		rdlen = m[off + 8] << 8 | m[off + 9];
		if (i >= rrs && type == 41) /* OPT: TTL = ext-rcode, version, flags */
			return m[off + 4];
		off += 10u + rdlen;
	}
	return -ENOENT;
}

static const char *rcode_name(int rcode, char *tmp, size_t tmplen)
{
	static const char *names[] = { "NOERROR", "FORMERR", "SERVFAIL",
				       "NXDOMAIN", "NOTIMP", "REFUSED",
				       "YXDOMAIN", "YXRRSET", "NXRRSET",
				       "NOTAUTH", "NOTZONE" };

	if (rcode >= 0 && rcode < (int)(sizeof(names) / sizeof(names[0])))
		return names[rcode];
	if (rcode == 16)
		return "BADVERS";
	if (rcode == 23)
		return "BADCOOKIE";
	snprintf(tmp, tmplen, "RCODE%d", rcode);
	return tmp;
}

static void print_reply(const uint8_t *m, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} flags[] = { { 0x8000, "qr" }, { 0x0400, "aa" }, { 0x0200, "tc" },
		      { 0x0100, "rd" }, { 0x0080, "ra" }, { 0x0020, "ad" },
		      { 0x0010, "cd" } };
	unsigned f, i;
	int rcode, ext;
	char tmp[32], fl[64] = "";

	if (len < 12) {
		printf("short len=%zu\n", len);
		return;
	}
	f = m[2] << 8 | m[3];
	rcode = f & 0x0f;
	ext = opt_ext_rcode(m, len);
	if (ext > 0)
		rcode |= ext << 4;
	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (f & flags[i].bit) {
			if (fl[0] != '\0')
				strcat(fl, ",");
			strcat(fl, flags[i].name);
		}
	}
	printf("reply rcode=%s flags=%s opcode=%u id=0x%02x%02x qd=%u an=%u "
	       "ns=%u ar=%u len=%zu\n",
	       rcode_name(rcode, tmp, sizeof(tmp)), fl[0] ? fl : "-",
	       (f >> 11) & 0x0f, m[0], m[1], m[4] << 8 | m[5],
	       m[6] << 8 | m[7], m[8] << 8 | m[9], m[10] << 8 | m[11], len);
}

/* xorshift32: a deterministic sequence for --mutate, not for security. */
static uint32_t xs_next(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

/* --mutate: send n variants of msg[0..len) over the connected UDP socket. */
static int send_mutations(int fd, const uint8_t *msg, size_t len, long n,
			  uint32_t seed, int timeout_ms)
{
	static uint8_t buf[MSG_MAX], reply[MSG_MAX];
	long i, replies = 0;
	uint32_t st = seed ? seed : 1;

	for (i = 0; i < n; i++) {
		size_t blen = len;
		unsigned k, flips = 1 + xs_next(&st) % 4;
		struct timespec dl;

		memcpy(buf, msg, len);
		for (k = 0; k < flips && len > 0; k++)
			buf[xs_next(&st) % len] = (uint8_t)xs_next(&st);
		if (len > 0 && xs_next(&st) % 4 == 0)
			blen = xs_next(&st) % len;
		if (send(fd, buf, blen, 0) < 0 && errno != ECONNREFUSED) {
			perror("send");
			return 1;
		}
		deadline_in(timeout_ms, &dl);
		if (wait_readable(fd, &dl) > 0 &&
		    recv(fd, reply, sizeof(reply), 0) > 0)
			replies++;
	}
	printf("mutated sent=%ld replies=%ld\n", n, replies);
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: cairn-udpsend [--tcp] [--timeout MS] ADDR PORT FILE\n"
		"       cairn-udpsend --mutate N SEED [--timeout MS] ADDR PORT FILE\n");
	return 1;
}

/* Send msg[2..2+len) over TCP with its length prefix in msg[0..2), print the
 * reply; the exit status (0 reply, 2 timeout/closed, 1 error). */
static int ask_tcp(int fd, uint8_t *msg, size_t len, const struct timespec *deadline)
{
	static uint8_t reply[MSG_MAX];
	uint8_t pfx[2];
	ssize_t r;

	msg[0] = (uint8_t)(len >> 8);
	msg[1] = (uint8_t)len;
	if (write(fd, msg, len + 2) != (ssize_t)(len + 2)) {
		perror("write");
		return 1;
	}
	r = read_full(fd, pfx, 2, deadline);
	if (r == 2) {
		size_t n = (size_t)(pfx[0] << 8 | pfx[1]);

		r = read_full(fd, reply, n, deadline);
		if (r == (ssize_t)n) {
			print_reply(reply, n);
			return 0;
		}
	}
	if (r == -ETIMEDOUT) {
		printf("timeout\n");
		return 2;
	}
	if (r >= 0) {
		printf("closed\n");
		return 2;
	}
	fprintf(stderr, "read: %s\n", strerror((int)-r));
	return 1;
}

/* Send msg[0..len) over the connected UDP socket, print the reply; the exit
 * status (0 reply, 2 timeout, 1 error). */
static int ask_udp(int fd, const uint8_t *msg, size_t len, const struct timespec *deadline)
{
	static uint8_t reply[MSG_MAX];
	ssize_t r;
	int rc;

	if (send(fd, msg, len, 0) != (ssize_t)len) {
		perror("send");
		return 1;
	}
	for (;;) {
		rc = wait_readable(fd, deadline);
		if (rc < 0) {
			fprintf(stderr, "poll: %s\n", strerror(-rc));
			return 1;
		}
		if (rc == 0) {
			printf("timeout\n");
			return 2;
		}
		r = recv(fd, reply, sizeof(reply), 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			/* ICMP port unreachable: nothing listens there. */
			fprintf(stderr, "recv: %s\n", strerror(errno));
			return 1;
		}
		print_reply(reply, (size_t)r);
		return 0;
	}
}

int main(int argc, char **argv)
{
	static uint8_t msg[MSG_MAX + 2];
	struct sockaddr_storage ss;
	struct timespec deadline;
	socklen_t slen;
	int tcp = 0, timeout_ms = -1, fd = -1, rc, i, ret = 1;
	long mutate = 0;
	uint32_t seed = 0;
	size_t len = 0;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		if (strcmp(argv[i], "--tcp") == 0)
			tcp = 1;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--mutate") == 0 && i + 2 < argc) {
			mutate = atol(argv[++i]);
			seed = (uint32_t)strtoul(argv[++i], NULL, 0);
		}
		else
			return usage();
	}
	if (argc - i != 3)
		return usage();

	if (tool_addr_parse(argv[i], argv[i + 1], &ss, &slen) < 0) {
		fprintf(stderr, "bad address: %s\n", argv[i]);
		return 1;
	}
	rc = read_hex(argv[i + 2], msg + 2, &len);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", argv[i + 2], strerror(-rc));
		return 1;
	}

	if (timeout_ms < 0)
		timeout_ms = mutate > 0 ? 20 : 700;
	deadline_in(timeout_ms, &deadline);

	fd = socket(ss.ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, slen) < 0)
		perror("socket/connect");
	else if (mutate > 0 && !tcp)
		ret = send_mutations(fd, msg + 2, len, mutate, seed, timeout_ms);
	else if (tcp)
		ret = ask_tcp(fd, msg, len, &deadline);
	else
		ret = ask_udp(fd, msg + 2, len, &deadline);
	if (fd >= 0)
		close(fd);
	return ret;
}
