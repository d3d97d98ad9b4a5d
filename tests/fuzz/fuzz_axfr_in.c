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

/* A message the readers accept is a response to our ID: QR set, ID 0x4242, and for
 * the NOTIFY reader opcode NOTIFY (RFC 1996 4.7); the SOA reader says NOERROR. */
static void check_readers(const uint8_t *msg, size_t len, const uint8_t *origin)
{
	uint32_t serial;
	uint8_t rcode = 0xff;
	if (auth_xfr_soa_reply_parse(msg, len, 0x4242, origin, &serial, &rcode) == 0) {
		require(len >= 12 && msg[0] == 0x42 && msg[1] == 0x42 && (msg[2] & 0x80));
		require((msg[3] & 0x0f) == 0 && (msg[2] & 0x04)); /* NOERROR, AA */
	}
	if (auth_xfr_notify_reply_check(msg, len, 0x4242, origin, &rcode) == 0) {
		require(len >= 12 && msg[0] == 0x42 && msg[1] == 0x42 && (msg[2] & 0x80));
		require(((msg[2] >> 3) & 0x0f) == 4 && rcode == (msg[3] & 0x0f));
	}
}

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
		check_readers(data + off, len, origin);
		r = auth_axfr_in_feed(&in, data + off, len);
		/* the contract of feed(): 1, 0, or a failure that says why */
		require(r == 1 || r == 0 || (r < 0 && in.state == AUTH_AXFR_IN_FAILED));
		require(r != 1 || in.state == AUTH_AXFR_IN_DONE);
		off += len;
		if (r != 0)
			break;
	}
	if (r == 1) {
		struct auth_zone *z = NULL;
		char err[512];
		if (auth_axfr_in_finish(&in, &z, err, sizeof(err)) == 0) {
			require(auth_zone_serial(z) == in.serial);
			require(memcmp(auth_zone_origin(z), origin, sizeof(origin)) == 0);
			auth_zone_unref(z);
		}
	}
	auth_axfr_in_deinit(&in);
	return 0;
}
