/* Frame codec and channel: partial reads, gluing, bounds, routes, fds. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ipc/channel.h"
#include "ipc/frame.h"
#include "ipc/pack.h"

#define WR 1   /* WORK_READY's payload, exactly (messages.def): the fixed-size frame here */

struct got {
	int frames, eof, fds;
	uint16_t types[64];
	uint32_t ids[64];
	size_t plens[64];
	uint8_t last_payload[256];
	int last_fd;
	int fd_of[64];          /* the fd that came with each frame, -1 for none */
};

static void
collect(struct channel *ch, const struct frame *f, void *arg)
{
	struct got *g = arg;

	if (f == NULL) {
		g->eof++;
		return;
	}
	if (g->frames < 64) {
		g->types[g->frames] = f->hdr.type;
		g->ids[g->frames] = f->hdr.id;
		g->plens[g->frames] = f->plen;
		g->fd_of[g->frames] = f->fd;
	}
	if (f->plen <= sizeof(g->last_payload))
		memcpy(g->last_payload, f->payload, f->plen);
	if (f->fd >= 0) {
		g->fds++;
		g->last_fd = f->fd;
	}
	g->frames++;
}

/* Runs the loop until cond or ~2 s. */
#define RUN_UNTIL(base, cond) do { \
	for (int spin_ = 0; spin_ < 2000 && !(cond); spin_++) \
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000); \
} while (0)

static void
raw_frame(uint8_t *out, uint32_t len, uint16_t type, uint32_t id)
{
	struct ct_frame_hdr h = { .len = len, .type = type, .flags = 0, .id = id, .pid = 1 };
	frame_hdr_encode(&h, out);
	memset(out + CT_FRAME_HDR_LEN, 0xab, len - CT_FRAME_HDR_LEN);
}

START_TEST(test_header_round_trip)
{
	struct ct_frame_hdr a = { 1234, CT_MSG_EVENT, CT_FRAME_F_FD, 77, 4242 }, b;
	uint8_t raw[CT_FRAME_HDR_LEN];

	frame_hdr_encode(&a, raw);
	frame_hdr_decode(raw, &b);
	ck_assert_uint_eq(b.len, 1234);
	ck_assert_uint_eq(b.type, CT_MSG_EVENT);
	ck_assert_uint_eq(b.flags, CT_FRAME_F_FD);
	ck_assert_uint_eq(b.id, 77);
	ck_assert_uint_eq(b.pid, 4242);
}
END_TEST

START_TEST(test_check_bounds_type_route)
{
	struct ct_frame_hdr h = { CT_FRAME_HDR_LEN + WR, CT_MSG_WORK_READY, 0, 0, 1 };

	ck_assert_int_eq(frame_check(&h, P_STORE), FRAME_OK);
	ck_assert_int_eq(frame_check(&h, P_INGEST), FRAME_BAD_ROUTE);
	h.len = CT_FRAME_HDR_LEN + WR - 1;     /* WORK_READY is exactly WR bytes */
	ck_assert_int_eq(frame_check(&h, P_STORE), FRAME_BAD_LENGTH);
	h.len = CT_FRAME_HDR_LEN - 1;
	ck_assert_int_eq(frame_check(&h, P_STORE), FRAME_BAD_LENGTH);
	h.len = CT_FRAME_MAX + 1;
	ck_assert_int_eq(frame_check(&h, P_STORE), FRAME_BAD_LENGTH);
	h.len = CT_FRAME_HDR_LEN;
	h.type = 999;
	ck_assert_int_eq(frame_check(&h, P_STORE), FRAME_UNKNOWN_TYPE);
	ck_assert_ptr_null(ct_msg_lookup(999));
	ck_assert_str_eq(ct_msg_name(CT_MSG_EVENT_STORED), "EVENT_STORED");
}
END_TEST

START_TEST(test_one_byte_at_a_time)
{
	struct event_base *base = event_base_new();
	int sv[2];
	struct got g = { 0 };
	uint8_t buf[3][64];
	struct channel *ch;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ch = channel_new(base, sv[0], P_STORE, collect, &g);
	ck_assert_ptr_nonnull(ch);
	raw_frame(buf[0], CT_FRAME_HDR_LEN + WR, CT_MSG_WORK_READY, 1);
	raw_frame(buf[1], CT_FRAME_HDR_LEN + 2, CT_MSG_EVENT_STORED, 2);
	raw_frame(buf[2], CT_FRAME_HDR_LEN + WR, CT_MSG_WORK_READY, 3);
	size_t lens[3] = { CT_FRAME_HDR_LEN + WR, CT_FRAME_HDR_LEN + 2, CT_FRAME_HDR_LEN + WR };
	for (int f = 0; f < 3; f++)
		for (size_t i = 0; i < lens[f]; i++) {
			ck_assert_int_eq(write(sv[1], &buf[f][i], 1), 1);
			event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		}
	RUN_UNTIL(base, g.frames == 3);
	ck_assert_int_eq(g.frames, 3);
	ck_assert_uint_eq(g.ids[0], 1);
	ck_assert_uint_eq(g.types[1], CT_MSG_EVENT_STORED);
	ck_assert_uint_eq(g.plens[2], WR);
	channel_free(ch);
	close(sv[1]);
	event_base_free(base);
}
END_TEST

START_TEST(test_many_frames_in_one_read)
{
	struct event_base *base = event_base_new();
	int sv[2];
	struct got g = { 0 };
	uint8_t buf[50 * (CT_FRAME_HDR_LEN + WR)];
	struct channel *ch;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ch = channel_new(base, sv[0], P_STORE, collect, &g);
	for (int i = 0; i < 50; i++)
		raw_frame(buf + i * (CT_FRAME_HDR_LEN + WR), CT_FRAME_HDR_LEN + WR,
		    CT_MSG_WORK_READY,
		    (uint32_t)i);
	ck_assert_int_eq(write(sv[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	RUN_UNTIL(base, g.frames == 50);
	ck_assert_int_eq(g.frames, 50);
	ck_assert_uint_eq(g.ids[49], 49);
	channel_free(ch);
	close(sv[1]);
	event_base_free(base);
}
END_TEST

START_TEST(test_bad_length_closes_channel)
{
	struct event_base *base = event_base_new();
	int sv[2];
	struct got g = { 0 };
	uint8_t buf[CT_FRAME_HDR_LEN];
	struct channel *ch;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ch = channel_new(base, sv[0], P_STORE, collect, &g);
	struct ct_frame_hdr h = { CT_FRAME_MAX + 100, CT_MSG_WORK_READY, 0, 0, 1 };
	frame_hdr_encode(&h, buf);
	ck_assert_int_eq(write(sv[1], buf, sizeof(buf)), (ssize_t)sizeof(buf));
	RUN_UNTIL(base, g.eof == 1);
	ck_assert_int_eq(g.eof, 1);
	ck_assert_int_eq(g.frames, 0);
	ck_assert_uint_eq(channel_stats(ch)->bad_frames, 1);
	channel_free(ch);
	close(sv[1]);
	event_base_free(base);
}
END_TEST

START_TEST(test_unknown_type_and_wrong_route_dropped)
{
	struct event_base *base = event_base_new();
	int sv[2];
	struct got g = { 0 };
	uint8_t buf[3][64];
	struct channel *ch;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ch = channel_new(base, sv[0], P_INGEST, collect, &g);
	raw_frame(buf[0], CT_FRAME_HDR_LEN + 4, 999, 1);                   /* unknown */
	/* store's, not ingest's */
	raw_frame(buf[1], CT_FRAME_HDR_LEN + WR, CT_MSG_WORK_READY, 2);
	raw_frame(buf[2], CT_FRAME_HDR_LEN + 8, CT_MSG_PONG, 3);           /* fine */
	ck_assert_int_eq(write(sv[1], buf[0], CT_FRAME_HDR_LEN + 4), CT_FRAME_HDR_LEN + 4);
	ck_assert_int_eq(write(sv[1], buf[1], CT_FRAME_HDR_LEN + WR), CT_FRAME_HDR_LEN + WR);
	ck_assert_int_eq(write(sv[1], buf[2], CT_FRAME_HDR_LEN + 8), CT_FRAME_HDR_LEN + 8);
	RUN_UNTIL(base, g.frames == 1);
	ck_assert_int_eq(g.frames, 1);
	ck_assert_uint_eq(g.ids[0], 3);
	ck_assert_int_eq(g.eof, 0);
	ck_assert_uint_eq(channel_stats(ch)->bad_frames, 2);
	channel_free(ch);
	close(sv[1]);
	event_base_free(base);
}
END_TEST

START_TEST(test_send_and_fd_passing)
{
	struct event_base *base = event_base_new();
	int sv[2], pfd[2];
	struct got ga = { 0 }, gb = { 0 };
	struct channel *a, *b;
	uint8_t pl[WR] = { 9 };
	char c = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(pfd), 0);
	a = channel_new(base, sv[0], P_ANY, collect, &ga);
	b = channel_new(base, sv[1], P_ANY, collect, &gb);
	ck_assert_int_eq(channel_send(a, CT_MSG_WORK_READY, 5, pl, sizeof(pl)), 0);
	ck_assert_int_eq(channel_send_fd(a, CT_MSG_WORK_READY, 6, pl, sizeof(pl), pfd[1]), 0);
	ck_assert_int_eq(channel_send(a, CT_MSG_WORK_READY, 7, pl, sizeof(pl)), 0);
	close(pfd[1]);
	RUN_UNTIL(base, gb.frames == 3);
	ck_assert_int_eq(gb.frames, 3);
	ck_assert_int_eq(gb.fds, 1);
	ck_assert_uint_eq(gb.ids[1], 6);
	ck_assert_mem_eq(gb.last_payload, pl, sizeof(pl));
	/* The fd that arrived is the pipe's write end. */
	ck_assert_int_eq(write(gb.last_fd, "x", 1), 1);
	ck_assert_int_eq(read(pfd[0], &c, 1), 1);
	ck_assert_int_eq(c, 'x');
	close(gb.last_fd);
	close(pfd[0]);
	channel_free(a);
	RUN_UNTIL(base, gb.eof == 1);
	ck_assert_int_eq(gb.eof, 1);
	channel_free(b);
	event_base_free(base);
}
END_TEST

/* Frames carrying fds back to back (the supervisor's PEER_UPs to a
 * newcomer): each fd arrives with its own frame, none with the other. */
START_TEST(test_fds_on_consecutive_frames)
{
	struct event_base *base = event_base_new();
	int sv[2], p1[2], p2[2];
	struct got g = { 0 };
	struct channel *a, *b;
	uint8_t pl[1] = { 2 };
	char c = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(pipe(p1), 0);
	ck_assert_int_eq(pipe(p2), 0);
	a = channel_new(base, sv[0], P_ANY, collect, NULL);
	b = channel_new(base, sv[1], P_SUP, collect, &g);
	ck_assert_int_eq(channel_send_fd(a, CT_MSG_PEER_UP, 1, pl, 1, p1[1]), 0);
	ck_assert_int_eq(channel_send_fd(a, CT_MSG_PEER_UP, 2, pl, 1, p2[1]), 0);
	ck_assert_int_eq(channel_send(a, CT_MSG_PEER_DOWN, 3, pl, 1), 0);
	close(p1[1]);
	close(p2[1]);
	RUN_UNTIL(base, g.frames == 3);
	ck_assert_int_eq(g.frames, 3);
	ck_assert_int_eq(g.fds, 2);
	ck_assert_int_eq(channel_stats(b)->bad_frames, 0);
	ck_assert_int_ge(g.fd_of[0], 0);
	ck_assert_int_ge(g.fd_of[1], 0);
	ck_assert_int_eq(g.fd_of[2], -1);
	/* frame 1 brought pipe 1's write end, frame 2 pipe 2's */
	ck_assert_int_eq(write(g.fd_of[0], "1", 1), 1);
	ck_assert_int_eq(write(g.fd_of[1], "2", 1), 1);
	ck_assert_int_eq(read(p1[0], &c, 1), 1);
	ck_assert_int_eq(c, '1');
	ck_assert_int_eq(read(p2[0], &c, 1), 1);
	ck_assert_int_eq(c, '2');
	close(g.fd_of[0]);
	close(g.fd_of[1]);
	close(p1[0]);
	close(p2[0]);
	channel_free(a);
	channel_free(b);
	event_base_free(base);
}
END_TEST

START_TEST(test_payload_cap_and_queue_bound)
{
	struct event_base *base = event_base_new();
	int sv[2];
	struct got g = { 0 };
	struct channel *a;
	static uint8_t big[CT_FRAME_MAX_PAYLOAD + 1];
	int sent = 0, sndbuf = 0;
	socklen_t len = sizeof(sndbuf);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &len), 0);
	a = channel_new(base, sv[0], P_ANY, collect, &g);
	ck_assert_int_eq(channel_send(a, CT_MSG_EVENT, 0, big, sizeof(big)), -1);
	/* Nobody reads sv[1]: the queue must refuse at its cap, not grow. The
	 * first frames go straight into the socket (written when nothing is
	 * queued), so the socket's buffer comes on top of the cap. */
	while (channel_send(a, CT_MSG_EVENT, 0, big, CT_FRAME_MAX_PAYLOAD) == 0)
		sent++;
	ck_assert_int_le((size_t)sent * CT_FRAME_MAX, CHANNEL_OUT_MAX + (size_t)sndbuf);
	ck_assert_int_ge(sent, (int)(CHANNEL_OUT_MAX / CT_FRAME_MAX) - 1);
	ck_assert_uint_eq(channel_stats(a)->send_refused, 2);
	channel_free(a);
	close(sv[1]);
	event_base_free(base);
}
END_TEST

START_TEST(test_pack_bounds)
{
	uint8_t buf[8];
	struct pack pk;
	struct unpack u;
	char s[4];

	pack_init(&pk, buf, sizeof(buf));
	pack_str(&pk, "abc");
	pack_u16(&pk, 7);
	ck_assert(pack_ok(&pk));
	pack_u32(&pk, 1);
	ck_assert(!pack_ok(&pk));
	unpack_init(&u, buf, 7);
	unpack_str(&u, s, sizeof(s));
	ck_assert_str_eq(s, "abc");
	ck_assert_uint_eq(unpack_u16(&u), 7);
	ck_assert(unpack_done(&u));
	unpack_u8(&u);
	ck_assert(!unpack_ok(&u));
	/* A string that does not fit the destination is an error, not a cut. */
	unpack_init(&u, buf, 7);
	unpack_str(&u, s, 3);
	ck_assert(!unpack_ok(&u));
	/* A length prefix larger than the data. */
	buf[0] = 200; buf[1] = 0;
	unpack_init(&u, buf, 7);
	unpack_str(&u, s, sizeof(s));
	ck_assert(!unpack_ok(&u));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("frame");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_header_round_trip);
	tcase_add_test(tc, test_check_bounds_type_route);
	tcase_add_test(tc, test_one_byte_at_a_time);
	tcase_add_test(tc, test_many_frames_in_one_read);
	tcase_add_test(tc, test_bad_length_closes_channel);
	tcase_add_test(tc, test_unknown_type_and_wrong_route_dropped);
	tcase_add_test(tc, test_send_and_fd_passing);
	tcase_add_test(tc, test_fds_on_consecutive_frames);
	tcase_add_test(tc, test_payload_cap_and_queue_bound);
	tcase_add_test(tc, test_pack_bounds);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
