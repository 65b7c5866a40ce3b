/* Payloads packed and unpacked with every read bounds-checked (pack.h). */
#include "ipc/pack.h"

#include <string.h>

void
pack_init(struct pack *pk, void *buf, size_t cap)
{
	pk->buf = buf;
	pk->cap = cap;
	pk->len = 0;
	pk->overflow = false;
}

void
pack_bytes(struct pack *pk, const void *p, size_t n)
{
	if (pk->overflow || n > pk->cap - pk->len) {
		pk->overflow = true;
		return;
	}
	if (n)
		memcpy(pk->buf + pk->len, p, n);
	pk->len += n;
}

void pack_u8(struct pack *pk, uint8_t v) { pack_bytes(pk, &v, 1); }
void pack_u16(struct pack *pk, uint16_t v) { pack_bytes(pk, &v, 2); }
void pack_u32(struct pack *pk, uint32_t v) { pack_bytes(pk, &v, 4); }
void pack_u64(struct pack *pk, uint64_t v) { pack_bytes(pk, &v, 8); }
void pack_i64(struct pack *pk, int64_t v) { pack_bytes(pk, &v, 8); }

void
pack_blob(struct pack *pk, const void *p, size_t n)
{
	if (n > UINT16_MAX) {
		pk->overflow = true;
		return;
	}
	pack_u16(pk, (uint16_t)n);
	pack_bytes(pk, p, n);
}

void
pack_str(struct pack *pk, const char *s)
{
	pack_blob(pk, s ? s : "", s ? strlen(s) : 0);
}

size_t
pack_reserve_u16(struct pack *pk)
{
	size_t off = pk->len;
	pack_u16(pk, 0);
	return off;
}

void
pack_put_u16_at(struct pack *pk, size_t off, uint16_t v)
{
	if (!pk->overflow && off + 2 <= pk->len)
		memcpy(pk->buf + off, &v, 2);
}

void
unpack_init(struct unpack *u, const void *p, size_t n)
{
	u->p = p;
	u->left = n;
	u->bad = false;
}

void
unpack_bytes(struct unpack *u, void *out, size_t n)
{
	if (u->bad || n > u->left) {
		u->bad = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, u->p, n);
	u->p += n;
	u->left -= n;
}

uint8_t unpack_u8(struct unpack *u) { uint8_t v; unpack_bytes(u, &v, 1); return v; }
uint16_t unpack_u16(struct unpack *u) { uint16_t v; unpack_bytes(u, &v, 2); return v; }
uint32_t unpack_u32(struct unpack *u) { uint32_t v; unpack_bytes(u, &v, 4); return v; }
uint64_t unpack_u64(struct unpack *u) { uint64_t v; unpack_bytes(u, &v, 8); return v; }
int64_t unpack_i64(struct unpack *u) { int64_t v; unpack_bytes(u, &v, 8); return v; }

const uint8_t *
unpack_blob(struct unpack *u, size_t *n)
{
	uint16_t len = unpack_u16(u);
	const uint8_t *p;

	*n = 0;
	if (u->bad || len > u->left) {
		u->bad = true;
		return NULL;
	}
	p = u->p;
	u->p += len;
	u->left -= len;
	*n = len;
	return p;
}

void
unpack_str(struct unpack *u, char *out, size_t cap)
{
	size_t n;
	const uint8_t *p = unpack_blob(u, &n);

	out[0] = '\0';
	if (p == NULL)
		return;
	if (n >= cap || memchr(p, '\0', n) != NULL) {
		u->bad = true;
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}
