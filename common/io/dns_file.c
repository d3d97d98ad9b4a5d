/* dns_file.c -- whole-file reads for the loaders (dns_file.h). */
#include "dns_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Grow *buf (cap bytes, len used) to at least need bytes; 0 or -ENOMEM. */
static int grow(const struct dns_mm *mm, char **buf, size_t *cap, size_t len, size_t need)
{
	size_t ncap = *cap ? *cap : 4096;
	while (ncap < need)
		ncap *= 2;
	if (ncap == *cap)
		return 0;
	char *nb = mm_alloc(mm, ncap);
	if (nb == NULL)
		return -ENOMEM;
	if (*buf != NULL) {
		memcpy(nb, *buf, len);
		mm_free(mm, *buf);
	}
	*buf = nb;
	*cap = ncap;
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
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	/* The size is a hint only: a file that grows while read is still read to EOF. */
	size_t hint = (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) ? (size_t)st.st_size + 1 : 4096;
	for (;;) {
		if (max != 0 && n > max) {
			rc = -EFBIG;
			goto out;
		}
		if ((rc = grow(mm, &buf, &cap, n, n + (n == 0 ? hint : 4096) + 1)) < 0)
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
	}
	if (max != 0 && n > max) {
		rc = -EFBIG;
		goto out;
	}
	if (buf == NULL && (rc = grow(mm, &buf, &cap, 0, 1)) < 0)
		goto out;
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
