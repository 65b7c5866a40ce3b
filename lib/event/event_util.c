/* The event's small helpers (event.h): UUIDs and ISO 8601 times. */
#include "event/event.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

/*
 * RAND_bytes checks for a fork (getpid) on every call; at tens of thousands
 * of events a second that syscall showed in profiles. Draw 4 KiB at a time.
 * Each process refills its own pool after exec, so no two share bytes.
 */
static uint8_t rand_pool[4096];
static size_t rand_left;

int
ct_uuid_new(uint8_t out[CT_UUID_LEN])
{
	if (rand_left < CT_UUID_LEN) {
		if (RAND_bytes(rand_pool, sizeof(rand_pool)) != 1)
			return -1;
		rand_left = sizeof(rand_pool);
	}
	memcpy(out, rand_pool + sizeof(rand_pool) - rand_left, CT_UUID_LEN);
	/* Used bytes are not kept around. */
	memset(rand_pool + sizeof(rand_pool) - rand_left, 0, CT_UUID_LEN);
	rand_left -= CT_UUID_LEN;
	out[6] = (out[6] & 0x0f) | 0x40;   /* version 4 */
	out[8] = (out[8] & 0x3f) | 0x80;   /* RFC 4122 variant */
	return 0;
}

void
ct_uuid_fmt(const uint8_t id[CT_UUID_LEN], char out[CT_UUID_STR])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < CT_UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 15];
	}
	out[o] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

int
ct_uuid_parse(const char *s, uint8_t out[CT_UUID_LEN])
{
	size_t i = 0, n = 0;

	if (s == NULL || strlen(s) != 36)
		return -1;
	while (s[i] != '\0') {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			i++;
			continue;
		}
		int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0 || n >= CT_UUID_LEN)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return n == CT_UUID_LEN ? 0 : -1;
}

bool
ct_uuid_is_nil(const uint8_t id[CT_UUID_LEN])
{
	for (size_t i = 0; i < CT_UUID_LEN; i++)
		if (id[i] != 0)
			return false;
	return true;
}

void
ct_iso_from_sec(int64_t sec, char out[CT_ISO_MAX])
{
	struct tm tm;
	time_t t = (time_t)sec;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, CT_ISO_MAX, "1970-01-01T00:00:00Z");
		return;
	}
	strftime(out, CT_ISO_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
ct_iso_from_ms(int64_t ms, char out[CT_ISO_MAX])
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);
	char base[24];

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, CT_ISO_MAX, "%s.%03dZ", base, (int)(ms % 1000));
}
