/* authd_zonefile.c -- the zone loader's file reader (authd_zonefile.h). */
#include "authd_zonefile.h"

#include "dns_file.h"

static int file_read(void *ctx, const char *path, char **text, size_t *len)
{
	(void)ctx;
	return dns_file_read(path, 0, dns_mm_std(), text, len);
}

static void file_release(void *ctx, char *text, size_t len)
{
	(void)ctx;
	(void)len;
	mm_free(dns_mm_std(), text);
}

static const struct auth_zone_reader reader = {
	.read = file_read,
	.release = file_release,
	.ctx = NULL,
};

const struct auth_zone_reader *authd_zonefile_reader(void)
{
	return &reader;
}

int authd_zonefile_load(const struct dns_mm *mm, const uint8_t *origin, const char *path,
	struct auth_zone **out, char *err, size_t errlen)
{
	return auth_zone_load(mm, origin, path, &reader, out, err, errlen);
}
