/*
 * Bounded payload packing. A writer appends to a fixed buffer and remembers
 * overflow; a reader consumes and remembers any short read, so a sequence of
 * gets is checked once at the end (pack_ok / unpack_ok). Strings are u16
 * length + bytes on the wire; unpack_str copies into a caller buffer of known
 * size and fails (not truncates) when it does not fit.
 */
#ifndef CT_PACK_H
#define CT_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pack {
	uint8_t *buf;
	size_t   cap, len;
	bool     overflow;
};

struct unpack {
	const uint8_t *p;
	size_t         left;
	bool           bad;
};

void pack_init(struct pack *pk, void *buf, size_t cap);
void pack_u8(struct pack *pk, uint8_t v);
void pack_u16(struct pack *pk, uint16_t v);
void pack_u32(struct pack *pk, uint32_t v);
void pack_u64(struct pack *pk, uint64_t v);
void pack_i64(struct pack *pk, int64_t v);
void pack_bytes(struct pack *pk, const void *p, size_t n);       /* raw, no length */
void pack_str(struct pack *pk, const char *s);                   /* u16 len + bytes */
void pack_blob(struct pack *pk, const void *p, size_t n);        /* u16 len + bytes */
/* Reserves a u16 at the current position, to fill in later (counts). */
size_t pack_reserve_u16(struct pack *pk);
void pack_put_u16_at(struct pack *pk, size_t off, uint16_t v);
static inline bool pack_ok(const struct pack *pk) { return !pk->overflow; }

void unpack_init(struct unpack *u, const void *p, size_t n);
uint8_t  unpack_u8(struct unpack *u);
uint16_t unpack_u16(struct unpack *u);
uint32_t unpack_u32(struct unpack *u);
uint64_t unpack_u64(struct unpack *u);
int64_t  unpack_i64(struct unpack *u);
void     unpack_bytes(struct unpack *u, void *out, size_t n);
/* NUL-terminated copy; fails if the string has a NUL or does not fit cap-1. */
void     unpack_str(struct unpack *u, char *out, size_t cap);
/* Points into the payload; *n gets the length. */
const uint8_t *unpack_blob(struct unpack *u, size_t *n);
static inline bool unpack_ok(const struct unpack *u) { return !u->bad; }
static inline bool unpack_done(const struct unpack *u) { return !u->bad && u->left == 0; }

#endif
