/* dns_file.c -- whole-file reads for the loaders (dns_file.h). */
#include "dns_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Grow *buf (cap bytes, len used) to need bytes; 0 or -ENOMEM. */
static int grow(const struct dns_mm *mm, char **buf, size_t *cap, size_t len, size_t need)
{
	char *nb = mm_alloc(mm, need);
	if (nb == NULL)
		return -ENOMEM;
	if (*buf != NULL) {
		memcpy(nb, *buf, len);
		mm_free(mm, *buf);
	}
	*buf = nb;
	*cap = need;
	return 0;
}

int dns_file_read(const char *path, size_t max, const struct dns_mm *mm, char **out, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0, n = 0;
	struct stat st;
	int rc = 0;

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	/* The size is a first guess only (a file may grow while read, a device has none):
	 * room for it, a byte to see EOF without growing, and the NUL. */
	size_t guess = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 4096;
	if (max != 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		rc = -EFBIG; /* known before reading a byte */
		goto out;
	}
	for (;;) {
		if (cap - n < 2 && (rc = grow(mm, &buf, &cap, n, cap ? cap * 2 : guess)) < 0)
			goto out;
		ssize_t got = read(fd, buf + n, cap - n - 1);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (max != 0 && n > max) {
			rc = -EFBIG;
			goto out;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	if (buf != NULL)
		mm_free(mm, buf);
	close(fd);
	return rc;
}
