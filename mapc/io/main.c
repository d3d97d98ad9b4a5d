/*
 * main.c -- cairn-mapc: compile a networks list (JSON) into a MaxMind DB
 * file for cairn-auth's "geoip" key (docs/cairn-mapc.md). The shell around the
 * pure writer mapc_writer: reads the file, picks the build time
 * (SOURCE_DATE_EPOCH when set, for reproducible output), writes FILE.tmp and
 * renames it, so a reader never sees a half-written database.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dns_config_io.h"
#include "dns_err.h"
#include "dns_file.h"
#include "mapc_json.h"

static const char usage[] = "NETWORKS.json -o MAP.mmdb";

/* Write data to path.tmp, flush it to disk, rename over path. 0 or -errno. */
static int write_atomic(const char *path, const uint8_t *data, size_t len)
{
	size_t tl = strlen(path) + 5;
	char *tmp = malloc(tl);
	int fd, r = 0;
	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, tl, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
out:
	free(tmp);
	return r;
}

/* SOURCE_DATE_EPOCH (reproducible-builds.org) when set, else now. */
static int build_epoch(uint64_t *out)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	if (s && *s) {
		if (dns_uint_parse(s, out) < 0)
			return -EINVAL;
		return 0;
	}
	*out = (uint64_t)time(NULL);
	return 0;
}

int main(int argc, char **argv)
{
	struct dns_config parser;
	struct dns_opt opts[3];
	const char *output = NULL;
	unsigned record_size = 0;
	struct mapc_buf out = {0};
	struct mapc_stats st;
	char *text = NULL, err[1024];
	size_t len = 0;
	uint64_t epoch;
	int rc = 1, r;

	memset(opts, 0, sizeof(opts));
	opts[0] = (struct dns_opt){.name = "output", .short_name = 'o', .type = DNS_OPT_STRING,
		.flags = DNS_OPT_CLI_ONLY, .metavar = "MAP.mmdb",
		.help = "write the MaxMind DB here (through MAP.mmdb.tmp and a rename)",
		.target = &output};
	opts[1] = (struct dns_opt){.name = "record-size", .type = DNS_OPT_UINT,
		.flags = DNS_OPT_CLI_ONLY, .metavar = "BITS",
		.help = "24, 28 or 32 bits per tree record (default: the smallest that fits)",
		.target = &record_size, .min = 24, .max = 32};
	if (dns_config_init_files(&parser, opts, NULL) < 0) {
		fprintf(stderr, "cairn-mapc: out of memory\n");
		return 1;
	}
	parser.prog = "cairn-mapc";
	if (dns_config_parse_argv(&parser, argc, argv) < 0) {
		fprintf(stderr, "cairn-mapc: %s\n", parser.err);
		goto done;
	}
	if (dns_config_print_action(&parser, usage, CAIRN_VERSION)) {
		rc = 0;
		goto done;
	}
	if (parser.nargs != 1 || !output || !*output) {
		fprintf(stderr, "usage: cairn-mapc %s\n", usage);
		goto done;
	}
	if (record_size && record_size != 24 && record_size != 28 && record_size != 32) {
		fprintf(stderr, "cairn-mapc: option --record-size: %u is not 24, 28 or 32\n",
			record_size);
		goto done;
	}
	if (build_epoch(&epoch) < 0) {
		fprintf(stderr, "cairn-mapc: SOURCE_DATE_EPOCH: not a number of seconds\n");
		goto done;
	}
	const char *input = parser.args[0];
	if ((r = dns_file_read(input, 0, dns_mm_std(), &text, &len)) < 0) {
		fprintf(stderr, "%s: %s\n", input, dns_strerror(r));
		goto done;
	}
	out.mm = dns_mm_std();
	r = mapc_compile_json(dns_mm_std(), text, len, input, epoch, record_size, &out,
		&st, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s\n", err[0] ? err : dns_strerror(r));
		goto done;
	}
	if ((r = write_atomic(output, out.data, out.len)) < 0) {
		fprintf(stderr, "%s: %s\n", output, dns_strerror(r));
		goto done;
	}
	printf("%s: %zu networks, %zu distinct records, %u nodes, record size %u, %zu bytes\n",
		output, st.networks, st.records, st.node_count, st.record_size, st.total_bytes);
	rc = 0;
done:
	mapc_buf_deinit(&out);
	mm_free(dns_mm_std(), text);
	dns_config_deinit(&parser);
	return rc;
}
