/*
 * replay.c -- runs a libFuzzer target without libFuzzer: every file named on the
 * command line (or found in a directory named there) is passed once to
 * LLVMFuzzerTestOneInput. `make test` builds each target this way with the
 * sanitizers and replays its seed corpus (tests/fuzz/corpus/<name>/), so a target
 * that no longer builds, or a seed that crashes or fails a check, fails the suite.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dns_err.h"
#include "dns_file.h"
#include "dns_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* One input; 0, or -1 when the file cannot be read. */
static int run_file(const char *path)
{
	char *buf;
	size_t len;
	int rc = dns_file_read(path, 0, dns_mm_std(), &buf, &len);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", path, dns_strerror(rc));
		return rc;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	mm_free(dns_mm_std(), buf);
	return 0;
}

/* A file, or every regular file of a directory; counts the inputs run in *n. */
static int run_path(const char *path, unsigned *n)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*n)++;
		return run_file(path);
	}
	DIR *d = opendir(path);
	if (d == NULL) {
		perror(path);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char p[4096];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			(*n)++;
			rc = run_file(p);
		}
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned n = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &n) < 0)
			return 1;
	if (n == 0) {
		fprintf(stderr, "%s: no input to replay\n", argv[0]);
		return 1;
	}
	printf("%s: %u inputs replayed\n", argv[0], n);
	return 0;
}
