/*
 * Inside the DP-401 parser: the token and record-start matchers the framer
 * (dp401_stream.c) uses, and the heartbeat removal the record path uses. Not
 * for use outside lib/dp401.
 *
 * Every matcher looks at b[0..n) and skips "HB" pairs wherever they stand:
 * the WiFi bridge sends its heartbeat on its own timer, so one can land
 * inside anything the scale sends in two TCP segments. None of the patterns
 * contains an H or a B, so skipping is never ambiguous. M_MORE means "a
 * prefix of a match, or an H that may be the start of an HB: wait for more
 * bytes"; nothing is decided on a partial match.
 */
#ifndef CT_DP401_INT_H
#define CT_DP401_INT_H

#include "dp401/dp401.h"

enum match { M_NO = 0, M_MORE, M_YES };

struct match_res {
	size_t   len;        /* bytes the match covers, heartbeats included */
	unsigned hbs;        /* heartbeats skipped inside it */
	size_t   head;       /* record starts: bytes up to and with the PLU's comma */
};

/* `SCALE-` and two digits; id gets the 8 bytes without heartbeats. */
enum match dp401_match_scale(const uint8_t *b, size_t n, struct match_res *r,
    uint8_t id[DP401_SCALE_ID_LEN]);
/* `KONTROLLU AKTAR OK?` */
enum match dp401_match_ack(const uint8_t *b, size_t n, struct match_res *r);
/*
 * A line start that may be a record: `P"`, `P` or nothing, 1-9 digits, a
 * comma. Loose on purpose: a bad PLU is then quarantined with a reason
 * instead of vanishing as garbage. Used between packets only.
 */
enum match dp401_match_line_start(const uint8_t *b, size_t n, struct match_res *r);
/*
 * The fixed head of a record: `P"` or nothing, then `ddddd,dd:dd:dd,
 * dd.dd.dddd,` (PLU, time, date by shape, values unchecked). Strict, because
 * it is looked for inside other bytes: a record whose line end was lost, or
 * an over-long line, ends where the next record begins. A bare `P` prefix is
 * not taken here: a company name may end in P ("KASAP").
 */
enum match dp401_match_record_head(const uint8_t *b, size_t n, struct match_res *r);

/*
 * Removes the heartbeats the bridge put inside a record line (see
 * dp401_hb.c for where one can and cannot belong). prev is the connection's
 * previous record line (may be NULL). out has room for n bytes. Returns the
 * new length; *removed gets the number of heartbeats taken out.
 */
/* Does "HB" occur in p[0..n)? (Nearly every record: no.) */
bool dp401_has_hb(const uint8_t *p, size_t n);
size_t dp401_strip_hb(const uint8_t *in, size_t n, const uint8_t *prev, size_t prev_n,
    uint8_t *out, unsigned *removed);

#endif
