/*
 * The ingest property harness (see test_dp401_property.c for what it
 * checks), shared by that unit test and the fuzz target
 * tests/fuzz/fuzz_ingest_property.c, which draws the seeds from its input.
 * The includer defines PROP_FAIL(caseno, seed, why), which must not return.
 */
#ifndef CT_DP401_PROPERTY_H
#define CT_DP401_PROPERTY_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp401/dp401.h"
#include "dp401/dp401_ack.h"

#define MAX_ELEMS   40
#define MAX_STREAM  (64 * 1024)
#define MAX_STORED  128
#define MAX_OPEN    256

static uint64_t rng;

static uint64_t
rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned
below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static bool
chance(unsigned pct)
{
	return below(100) < pct;
}

/* ---- what the scale sent ---- */

enum kind { E_RECORD, E_COPY, E_BAD, E_LONG, E_HB, E_SCALE, E_GARBAGE, E_EMPTY, E_PROMPT };

struct elem {
	enum kind kind;
	char      barcode[16];
	char      line[5200];       /* record/bad/long line as sent, no terminator */
	size_t    len;
	bool      ts_invalid;
	int64_t   net;
	bool      ten;              /* 10 fields */
	const char *product, *operator_name;   /* as parsed: UTF-8, trimmed */
};

struct scenario {
	struct elem e[MAX_ELEMS];
	int         n;
	uint8_t     bytes[MAX_STREAM];
	size_t      nbytes;
	size_t      seg_end[MAX_ELEMS];   /* byte offset after each prompt */
	int         nsegs;
};

static const char *const companies[] = {
	"KORKUT KAAN BALTA", "YILMAZ KASAP", "HB GIDA", "ET A.S.",
};
static const char *const operators[] = { "KAAN", "MAHBUBE", "SCALE-12 AHMET", "" };
static const char *const products[] = { "KIYMA", "BONF\xDDLE", "SAHBAZ", "KUZU" };
static const char *const products_utf8[] = { "KIYMA", "BONF\xC4\xB0LE", "SAHBAZ", "KUZU" };

static void
make_record(struct elem *e, unsigned caseno, int idx, const char *company, bool copy_of_prev,
    const struct elem *prev)
{
	struct dp401_fmt f;
	char flags[6] = "2021N";

	memset(&f, 0, sizeof(f));
	if (copy_of_prev) {
		/* the P" copy: the same line, maybe a second or two later */
		int add = (int)below(3);
		snprintf(e->line, sizeof(e->line), "P\"%s", prev->line);
		e->len = strlen(e->line);
		if (add > 0 && e->line[2 + 6 + 7] <= '9' - add)
			e->line[2 + 6 + 7] = (char)(e->line[2 + 6 + 7] + add);
		snprintf(e->barcode, sizeof(e->barcode), "%s", prev->barcode);
		e->ts_invalid = prev->ts_invalid;
		e->net = prev->net;
		e->ten = prev->ten;
		e->product = prev->product;
		e->operator_name = prev->operator_name;
		return;
	}
	snprintf(e->barcode, sizeof(e->barcode), "%06u%06d", caseno % 1000000, idx);
	f.plu_prefix = "";
	f.plu = below(100000);
	f.hh = (int)below(24);
	f.mi = (int)below(60);
	f.ss = (int)below(50);
	f.dd = 1 + (int)below(28);
	f.mo = 1 + (int)below(12);
	f.yyyy = 2026;
	e->ts_invalid = false;
	switch (below(12)) {
	case 0: f.dd = 31; f.mo = 2; e->ts_invalid = true; break;
	case 1: f.hh = 24; e->ts_invalid = true; break;
	default: break;
	}
	unsigned pi = below(4);
	f.product = products[pi];
	e->product = products_utf8[pi];
	f.barcode = e->barcode;
	f.code = "0000";
	f.operator_name = e->operator_name = operators[below(4)];
	e->net = (int64_t)(rnd() % 100000000);
	f.tare = (int64_t)(rnd() % 1000000);
	f.gross = e->net + f.tare;
	f.net = e->net;
	e->ten = chance(20);
	f.flags = e->ten ? NULL : flags;
	f.company = company;
	e->len = dp401_format_record(&f, e->line, sizeof(e->line));
	if (e->len == 0)
		PROP_FAIL(caseno, 0, "the formatter made no record");
}

static void
make_bad(struct elem *e)
{
	static const char *const bad[] = {
		"00001,not,a,record",
		"00001,06:00:27,30.01.2026,KIYMA,000000000001,0000,KAAN,12x4,0,1",
		"123456,06:00:27,30.01.2026,KIYMA,000000000001,0000,KAAN,1,0,1",
		"P\"0001,06:00:27,30.01.2026,KIYMA,1,0,KAAN,1,0,1,2,0,2,1,N,ACME",
		"00001,06:00:27,30.01.2026",
		"7,",
	};
	snprintf(e->line, sizeof(e->line), "%s", bad[below(6)]);
	e->len = strlen(e->line);
}

static void
make_long(struct elem *e)
{
	e->len = 4200 + below(900);
	memcpy(e->line, "00001,", 6);
	for (size_t i = 6; i < e->len; i++)
		e->line[i] = (char)('a' + below(6));     /* no H, B, K, P, digit */
}

static void
append(struct scenario *sc, const void *p, size_t n)
{
	if (sc->nbytes + n > sizeof(sc->bytes))
		PROP_FAIL(0, 0, "scenario larger than its buffer");
	memcpy(sc->bytes + sc->nbytes, p, n);
	sc->nbytes += n;
}

/* A line end, or none when what follows is a record head or a prompt
 * (what a lost line end can be told from). */
static void
terminate(struct scenario *sc, enum kind next)
{
	static const char *const eols[] = { "\r\n", "\r\n", "\r\n", "\n", "\r" };

	if ((next == E_RECORD || next == E_PROMPT) && chance(20))
		return;
	const char *t = eols[below(5)];
	append(sc, t, strlen(t));
}

static void
garbage(struct scenario *sc)
{
	static const char safe[] = "!#$%&()*+-./:;<=>@[]^_`{|}~ xyzqwjv";
	size_t n = 1 + below(40);

	for (size_t i = 0; i < n; i++) {
		uint8_t c = below(3) == 0 ? (uint8_t)(0x80 + below(0x7f)) :
		    (uint8_t)safe[below(sizeof(safe) - 1)];
		append(sc, &c, 1);
	}
}

static void
generate(struct scenario *sc, unsigned caseno)
{
	const char *company = companies[below(4)];
	int last_record = -1;
	bool copy_allowed = false;

	memset(sc, 0, offsetof(struct scenario, bytes));
	sc->nbytes = 0;
	sc->nsegs = 0;
	sc->n = 2 + (int)below(MAX_ELEMS - 4);
	for (int i = 0; i < sc->n; i++) {
		unsigned r = below(100);
		enum kind k = r < 45 ? E_RECORD : r < 52 ? E_BAD : r < 54 ? E_LONG : r < 62 ? E_HB :
		    r < 65 ? E_SCALE : r < 73 ? E_GARBAGE : r < 76 ? E_EMPTY : E_PROMPT;
		if (copy_allowed && last_record >= 0 && chance(60))
			k = E_COPY;
		copy_allowed = false;
		sc->e[i].kind = k;
		if (k == E_RECORD) {
			make_record(&sc->e[i], caseno, i, company, false, NULL);
			last_record = i;
		} else if (k == E_COPY) {
			make_record(&sc->e[i], caseno, i, company, true, &sc->e[last_record]);
			last_record = -1;      /* one copy per record */
		} else if (k == E_BAD) {
			make_bad(&sc->e[i]);
		} else if (k == E_LONG) {
			make_long(&sc->e[i]);
		} else if (k == E_PROMPT) {
			copy_allowed = i > 0 && sc->e[i - 1].kind == E_RECORD;
		}
	}
	/* the conversation ends with a prompt: its OK is what is checked */
	sc->e[sc->n - 1].kind = E_PROMPT;

	for (int i = 0; i < sc->n; i++) {
		struct elem *e = &sc->e[i];
		enum kind next = i + 1 < sc->n ? sc->e[i + 1].kind : E_PROMPT;

		switch (e->kind) {
		case E_RECORD:
		case E_COPY:
		case E_BAD:
		case E_LONG:
			append(sc, e->line, e->len);
			if (next == E_COPY)
				next = E_RECORD;
			terminate(sc,
			    e->kind == E_RECORD || e->kind == E_COPY || e->kind == E_BAD ||
			    e->kind == E_LONG ? next : E_HB);
			break;
		case E_HB:
			append(sc, "HB", 2);
			break;
		case E_SCALE: {
			char id[16];
			snprintf(id, sizeof(id), "SCALE-%02u", below(100));
			append(sc, id, 8);
			break;
		}
		case E_GARBAGE:
			garbage(sc);
			break;
		case E_EMPTY:
			append(sc, "\r\n", 2);
			break;
		case E_PROMPT:
			append(sc, DP401_ACK_TOKEN, strlen(DP401_ACK_TOKEN));
			if (chance(30))
				append(sc, "\n", 1);
			sc->seg_end[sc->nsegs++] = sc->nbytes;
			break;
		}
	}
}

/* ---- the edge under test, glued as ingest glues it ---- */

struct stored {
	struct ct_event ev;
	bool            quarantined;
	char            raw[600];
};

struct edge {
	struct dp401_parser p;
	struct dp401_ack    ack;
	struct ct_event     last;
	bool                have_last, ok_since_last;
	uint64_t            open[MAX_OPEN];       /* numbers not yet confirmed */
	struct stored      *held[MAX_OPEN];       /* what store will have on confirming */
	int                 nopen;
	struct stored       st[MAX_STORED];
	int                 nst;
	int                 oks, prompts;
	uint64_t            upto[MAX_ELEMS + 8];  /* per prompt: records before it */
	bool                confirmed[1024];
	unsigned            caseno;
	uint64_t            seed;
};

static struct edge E;

static void
fail_case(const char *what)
{
	PROP_FAIL(E.caseno, E.seed, what);
}

static void
send_oks(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		/* the k-th OK answers the k-th prompt: all before it confirmed */
		if (E.oks >= E.prompts)
			fail_case("more OKs than prompts");
		for (uint64_t no = 1; no <= E.upto[E.oks]; no++)
			if (no < 1024 && !E.confirmed[no])
				fail_case("OK sent while a record before its prompt is "
				    "unconfirmed");
		E.oks++;
	}
	if (n > 0)
		E.ok_since_last = true;
}

static void
hold(const struct ct_event *ev, bool quarantined, const uint8_t *raw, size_t rawn)
{
	if (E.nopen >= MAX_OPEN || E.nst >= MAX_STORED)
		fail_case("too many items for the harness");
	struct stored *s = &E.st[E.nst++];
	s->ev = *ev;
	s->quarantined = quarantined;
	rawn = rawn < sizeof(s->raw) - 1 ? rawn : sizeof(s->raw) - 1;
	memcpy(s->raw, raw, rawn);
	s->raw[rawn] = '\0';
	E.open[E.nopen] = dp401_ack_record(&E.ack);
	E.held[E.nopen] = s;
	E.nopen++;
}

static void
on_item(void *arg, const struct dp401_item *it)
{
	struct ct_event ev;

	(void)arg;
	switch (it->kind) {
	case DP401_RECORD:
		if (E.have_last && E.ok_since_last &&
		    dp401_is_confirmation(&E.last, it->ev, DP401_CONFIRM_SKEW_S)) {
			E.ok_since_last = false;
			return;
		}
		E.last = *it->ev;
		E.have_last = true;
		E.ok_since_last = false;
		hold(it->ev, false, it->line, it->line_len);
		break;
	case DP401_REJECTED:
		memset(&ev, 0, sizeof(ev));
		hold(&ev, true, it->line, it->line_len < CT_RAW_MAX ? it->line_len : CT_RAW_MAX);
		break;
	case DP401_ACK_REQUEST:
		E.upto[E.prompts++] = E.ack.received;
		send_oks(dp401_ack_request(&E.ack, 0));
		break;
	default:
		break;
	}
}

/* The store confirms some of what is open, in random order. */
static void
confirm_some(bool all)
{
	while (E.nopen > 0 && (all || chance(50))) {
		int k = (int)below((unsigned)E.nopen);
		uint64_t no = E.open[k];

		E.open[k] = E.open[E.nopen - 1];
		E.held[k] = E.held[E.nopen - 1];
		E.nopen--;
		if (no < 1024)
			E.confirmed[no] = true;
		send_oks(dp401_ack_stored(&E.ack, no));
	}
}

/* Feeds bytes [from, to) in random TCP segments, the bridge's HB between
 * some of them (its timer cannot fire twice within a few dozen bytes of
 * the scale's serial line), the store confirming as it goes. */
static void
transmit(const struct scenario *sc, size_t from, size_t to)
{
	unsigned maxseg = chance(50) ? 8 : 400;
	size_t last_hb = 0;

	while (from < to) {
		size_t k = 1 + below(maxseg);
		if (k > to - from)
			k = to - from;
		dp401_feed(&E.p, sc->bytes + from, k);
		from += k;
		if (from < to && from > last_hb + 48 && chance(8)) {
			dp401_feed(&E.p, "HB", 2);
			last_hb = from;
		}
		if (chance(30))
			confirm_some(false);
	}
}

/* ---- checking ---- */

/* Is got the text sent (a prefix of it) with zero or more "HB" put in
 * anywhere? */
static bool
plus_hbs(const char *got_s, const char *sent, bool prefix)
{
	if (*got_s == '\0')
		return prefix || *sent == '\0';
	if (prefix && got_s[0] == 'H' && got_s[1] == '\0')
		return true;     /* cut inside an HB */
	if (*got_s == *sent && plus_hbs(got_s + 1, sent + 1, prefix))
		return true;
	return got_s[0] == 'H' && got_s[1] == 'B' && plus_hbs(got_s + 2, sent, prefix);
}

/* A name with an HB of its own, and the bridge's next to it: the line as
 * sent but for which of the two went. */
static bool
hb_moved(const char *got_s, const char *sent)
{
	char a[600], b[600];
	size_t o = 0;

	if (strstr(sent, "HB") == NULL || strlen(got_s) != strlen(sent))
		return false;
	for (int pass = 0; pass < 2; pass++) {
		const char *in = pass == 0 ? got_s : sent;
		char *out = pass == 0 ? a : b;
		o = 0;
		for (size_t i = 0; in[i] != '\0' && o + 1 < sizeof(a); i++) {
			if (in[i] == 'H' && in[i + 1] == 'B') {
				i++;
				continue;
			}
			out[o++] = in[i];
		}
		out[o] = '\0';
	}
	return strcmp(a, b) == 0;
}

/* The record line as sent, field by field: digits, times, weights and
 * flags exactly; in text (product, operator, company) an HB the bridge put
 * in may stay or take the place of the text's own (dp401_hb.c says when). */
static bool
same_line(const char *got_s, const char *sent)
{
	char g[600], t[600], *gs = g, *ts = t;

	snprintf(g, sizeof(g), "%s", got_s);
	snprintf(t, sizeof(t), "%s", sent);
	for (int idx = 0; gs != NULL || ts != NULL; idx++) {
		char *gn, *tn;

		if (gs == NULL || ts == NULL)
			return false;
		gn = idx < 15 ? strchr(gs, ',') : NULL;
		tn = idx < 15 ? strchr(ts, ',') : NULL;
		if (gn != NULL)
			*gn++ = '\0';
		if (tn != NULL)
			*tn++ = '\0';
		bool text = idx == 3 || idx == 6 || idx == 15;
		if (strcmp(gs, ts) != 0 &&
		    !(text && (plus_hbs(gs, ts, false) || hb_moved(gs, ts))))
			return false;
		gs = gn;
		ts = tn;
	}
	return true;
}

/* Fixed-width text: an HB added is taken out; next to one of its own
 * ("MAHBUBE") the wrong one may go (dp401_hb.c), so only then is an HB
 * in a different place accepted. */
static bool
same_text(const char *got_s, const char *sent)
{
	if (strstr(sent, "HB") == NULL)
		return strcmp(got_s, sent) == 0;
	return strlen(got_s) == strlen(sent);
}

static void
check_stored(const struct scenario *sc)
{
	char b[600];
	int used[MAX_STORED];

	memset(used, 0, sizeof(used));
	for (int i = 0; i < sc->n; i++) {
		const struct elem *e = &sc->e[i];
		int found = 0;

		if (e->kind == E_RECORD || e->kind == E_COPY) {
			for (int s = 0; s < E.nst; s++) {
				const struct ct_event *ev = &E.st[s].ev;
				if (E.st[s].quarantined || strcmp(ev->barcode, e->barcode) != 0)
					continue;
				found++;
				used[s] = 1;
				if (ev->net_raw != e->net)
					fail_case("record stored with another net weight");
				if (!!(ev->edge_flags & CT_EVF_SCALE_TS_INVALID) != e->ts_invalid)
					fail_case("invalid-timestamp flag wrong");
				if ((ev->company[0] != '\0') == e->ten)
					fail_case("record stored with the wrong field count");
				/* the line as sent; an HB the bridge added may stay only
				 * in text the previous record does not explain */
				snprintf(b, sizeof(b), "%.*s", (int)e->len, e->line);
				if (e->kind == E_RECORD && !same_line(E.st[s].raw, b)) {
					fprintf(stderr, "stored \"%s\"\nsent   \"%s\"\n",
					    E.st[s].raw, b);
					fail_case("record stored differs from the one sent");
				}
				if (!same_text(ev->product, e->product) ||
				    !same_text(ev->operator_name, e->operator_name)) {
					fprintf(stderr,
					    "stored \"%s\" \"%s\", sent \"%s\" \"%s\" in %s\n",
					    ev->product, ev->operator_name, e->product,
					    e->operator_name, b);
					fail_case("product or operator text not as sent");
				}
			}
			/* a copy is the scale repeating what it was told OK for */
			if (e->kind == E_RECORD && found != 1)
				fail_case(found == 0 ? "valid record not stored" :
				    "valid record stored twice");
		} else if (e->kind == E_BAD || e->kind == E_LONG) {
			snprintf(b, sizeof(b), "%.*s", (int)e->len, e->line);
			for (int s = 0; s < E.nst && !found; s++) {
				if (!E.st[s].quarantined || used[s])
					continue;
				/* as received, the bridge's HBs included; a long line
				 * keeps its first CT_RAW_MAX bytes */
				if (e->kind == E_LONG ? strlen(E.st[s].raw) == CT_RAW_MAX &&
				    plus_hbs(E.st[s].raw, b, true) :
				    plus_hbs(E.st[s].raw, b, false)) {
					found = 1;
					used[s] = 1;
				}
			}
			if (!found) {
				fprintf(stderr, "not kept: \"%.80s\" (%zu)\n", b, strlen(b));
				for (int k = 0; k < E.nst; k++)
					fprintf(stderr, "  kept%s: \"%.600s\"\n",
					    E.st[k].quarantined ? " (q)" : "", E.st[k].raw);
				fail_case("record-shaped line neither stored nor quarantined");
			}
		}
	}
	for (int s = 0; s < E.nst; s++)
		if (!used[s])
			fail_case("something stored that the scale did not send as a record");
}

static void __attribute__((unused))
run_case(unsigned caseno, uint64_t seed)
{
	static struct scenario sc;
	size_t off = 0;

	rng = seed;
	generate(&sc, caseno);
	memset(&E, 0, sizeof(E));
	E.caseno = caseno;
	E.seed = seed;
	if (getenv("PROPERTY_DUMP") != NULL)
		fwrite(sc.bytes, 1, sc.nbytes, stderr);
	dp401_init(&E.p, 1, on_item, NULL);
	dp401_ack_init(&E.ack);
	for (int s = 0; s < sc.nsegs; s++) {
		/* the scale sends up to its prompt, then waits for the OK before
		 * anything else (a P" copy only ever follows an OK) */
		transmit(&sc, off, sc.seg_end[s]);
		off = sc.seg_end[s];
		if (E.prompts != s + 1)
			fail_case("a prompt was not recognised");
		confirm_some(true);
		if (E.oks != s + 1)
			fail_case("no OK for a prompt whose records are all confirmed");
	}
	check_stored(&sc);
}

#endif
