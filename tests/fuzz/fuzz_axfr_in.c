/*
 * fuzz_axfr_in.c -- libFuzzer target for what a secondary reads from its
 * primary: the input is a series of TCP-framed messages (2-byte length, then
 * the message), fed to the AXFR consumer for the zone "example.test." with
 * ID 0x4242; when the consumer says the transfer is complete the zone is built
 * (its checks must reject or accept, never crash). Every message is also read
 * as a SOA answer and as a NOTIFY reply.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth_xfr.h"
#include "auth_zone.h"
#include "dns_err.h"
#include "dns_mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t origin[] = "\7example\4test";
	struct auth_axfr_in in;
	size_t off = 0;
	int r = 0;

	if (auth_axfr_in_init(&in, dns_mm_std(), origin, 0x4242) < 0)
		return 0;
	while (size - off >= 2) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		uint32_t serial;
		uint8_t rcode;
		(void)auth_xfr_soa_reply_parse(data + off, len, 0x4242, origin, &serial, &rcode);
		(void)auth_xfr_notify_reply_check(data + off, len, 0x4242, origin, &rcode);
		r = auth_axfr_in_feed(&in, data + off, len);
		off += len;
		if (r != 0)
			break;
	}
	if (r == 1) {
		struct auth_zone *z = NULL;
		char err[512];
		if (auth_axfr_in_finish(&in, &z, err, sizeof(err)) == 0) {
			require(auth_zone_serial(z) == in.serial);
			auth_zone_unref(z);
		}
	}
	auth_axfr_in_deinit(&in);
	return 0;
}
