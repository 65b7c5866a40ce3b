/* One framed channel over a Unix socket (channel.h), with fd passing. */
#include "ipc/channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log/log.h"
#include "util/clock.h"

#define CHANNEL_MAX_FDS   16        /* fds received but not yet claimed */
#define CHANNEL_READ_MAX  (256 * 1024)  /* per wakeup, so one peer cannot starve the loop */

struct out_fd {
	uint64_t at;      /* byte offset of the frame in the output stream */
	int      fd;
};

struct channel {
	struct event_base *base;
	int                fd;
	enum ct_proc       peer;
	channel_cb         cb;
	void              *arg;
	struct event      *ev_read, *ev_write;
	struct evbuffer   *in, *out;
	int                fds_in[CHANNEL_MAX_FDS];
	int                nfds_in;
	struct out_fd      fds_out[CHANNEL_MAX_FDS];
	int                nfds_out;
	uint64_t           out_sent, out_total;
	int                depth;     /* > 0 while inside the callback */
	bool               dead, freed;
	bool               broken;    /* a write failed: the write callback closes it */
	struct channel_stats st;
	uint32_t           pid;       /* ours, for the header: one getpid, not one a frame */
};

static void channel_read_cb(evutil_socket_t, short, void *);
static void channel_write_cb(evutil_socket_t, short, void *);

struct channel *
channel_new(struct event_base *base, int fd, enum ct_proc peer, channel_cb cb, void *arg)
{
	struct channel *ch = calloc(1, sizeof(*ch));

	if (ch == NULL)
		return NULL;
	ch->base = base;
	ch->fd = fd;
	ch->peer = peer;
	ch->cb = cb;
	ch->arg = arg;
	ch->pid = (uint32_t)getpid();
	if (evutil_make_socket_nonblocking(fd) != 0 ||
	    evutil_make_socket_closeonexec(fd) != 0 ||
	    (ch->in = evbuffer_new()) == NULL || (ch->out = evbuffer_new()) == NULL ||
	    (ch->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, channel_read_cb, ch)) ==
	    NULL ||
	    (ch->ev_write = event_new(base, fd, EV_WRITE, channel_write_cb, ch)) == NULL ||
	    event_add(ch->ev_read, NULL) != 0) {
		if (ch->ev_read) event_free(ch->ev_read);
		if (ch->ev_write) event_free(ch->ev_write);
		if (ch->in) evbuffer_free(ch->in);
		if (ch->out) evbuffer_free(ch->out);
		free(ch);
		return NULL;
	}
	return ch;
}

static void
channel_release(struct channel *ch)
{
	event_free(ch->ev_read);
	event_free(ch->ev_write);
	evbuffer_free(ch->in);
	evbuffer_free(ch->out);
	for (int i = 0; i < ch->nfds_in; i++)
		close(ch->fds_in[i]);
	for (int i = 0; i < ch->nfds_out; i++)
		close(ch->fds_out[i].fd);
	if (ch->fd >= 0)
		close(ch->fd);
	free(ch);
}

void
channel_free(struct channel *ch)
{
	if (ch == NULL)
		return;
	if (ch->depth > 0) {      /* freed from inside its own callback */
		ch->freed = true;
		event_del(ch->ev_read);
		event_del(ch->ev_write);
		return;
	}
	channel_release(ch);
}

const struct channel_stats *
channel_stats(const struct channel *ch)
{
	return &ch->st;
}

/* Tells the owner the peer is gone, once. */
static void
channel_die(struct channel *ch)
{
	if (ch->dead)
		return;
	ch->dead = true;
	event_del(ch->ev_read);
	event_del(ch->ev_write);
	ch->depth++;
	ch->cb(ch, NULL, ch->arg);
	ch->depth--;
}

static void
channel_dispatch(struct channel *ch)
{
	uint8_t raw[CT_FRAME_HDR_LEN];

	while (!ch->dead && !ch->freed && evbuffer_get_length(ch->in) >= CT_FRAME_HDR_LEN) {
		struct ct_frame_hdr h;
		struct frame f;
		enum frame_err e;

		evbuffer_copyout(ch->in, raw, sizeof(raw));
		frame_hdr_decode(raw, &h);
		if (h.len < CT_FRAME_HDR_LEN || h.len > CT_FRAME_MAX) {
			/* No way to find the next frame boundary: the stream is lost. */
			log_err("channel from %s: %s (%u bytes), closing", ct_proc_name(ch->peer),
			    frame_err_str(FRAME_BAD_LENGTH), h.len);
			ch->st.bad_frames++;
			channel_die(ch);
			return;
		}
		if (evbuffer_get_length(ch->in) < h.len)
			return;
		memset(&f, 0, sizeof(f));
		f.hdr = h;
		f.fd = -1;
		f.plen = h.len - CT_FRAME_HDR_LEN;
		if (h.flags & CT_FRAME_F_FD) {
			if (ch->nfds_in == 0) {
				log_err("channel from %s: %s frame says it carries an fd, none "
				    "came",
				    ct_proc_name(ch->peer), ct_msg_name(h.type));
				ch->st.bad_frames++;
				evbuffer_drain(ch->in, h.len);
				continue;
			}
			f.fd = ch->fds_in[0];
			memmove(ch->fds_in, ch->fds_in + 1, (size_t)(--ch->nfds_in) * sizeof(int));
		}
		/* Every channel has one sender at the other end (the supervisor,
		 * or a worker over its direct channel): it must be one
		 * messages.def lets send this type. */
		e = frame_check(&h, ch->peer);
		if (e != FRAME_OK) {
			log_err("channel from %s: dropped frame type %u (%s), %u bytes: %s",
			    ct_proc_name(ch->peer), h.type, ct_msg_name(h.type), h.len,
			    frame_err_str(e));
			ch->st.bad_frames++;
			if (f.fd >= 0)
				close(f.fd);
			evbuffer_drain(ch->in, h.len);
			continue;
		}
		f.payload = evbuffer_pullup(ch->in, h.len);
		if (f.payload == NULL) {
			log_err("channel: out of memory");
			channel_die(ch);
			return;
		}
		f.payload += CT_FRAME_HDR_LEN;
		ch->st.frames_in++;
		ch->depth++;
		ch->cb(ch, &f, ch->arg);
		ch->depth--;
		if (ch->freed)
			return;
		evbuffer_drain(ch->in, h.len);
	}
}

static void
channel_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct channel *ch = arg;
	size_t total = 0;

	while (total < CHANNEL_READ_MAX && !ch->dead && !ch->freed) {
		uint8_t buf[16384];
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int) * 4)];
		} cmsgbuf;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr msg = { 0 };
		size_t nfds_got = 0;
		ssize_t n;

		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_errno("channel from %s: recvmsg", ct_proc_name(ch->peer));
			channel_die(ch);
			break;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int *fds = (int *)CMSG_DATA(c);
			nfds_got += nfd;
			for (size_t i = 0; i < nfd; i++) {
				if (ch->nfds_in < CHANNEL_MAX_FDS)
					ch->fds_in[ch->nfds_in++] = fds[i];
				else {
					log_err("channel from %s: too many pending fds, closing "
					    "one",
					    ct_proc_name(ch->peer));
					close(fds[i]);
				}
			}
		}
		if (msg.msg_flags & MSG_CTRUNC)
			log_err("channel from %s: control data truncated", ct_proc_name(ch->peer));
		if (n == 0) {
			channel_die(ch);
			break;
		}
		ch->st.bytes_in += (uint64_t)n;
		total += (size_t)n;
		if (evbuffer_add(ch->in, buf, (size_t)n) != 0) {
			log_err("channel: out of memory");
			channel_die(ch);
			break;
		}
		channel_dispatch(ch);
		/* A short read emptied the socket: the next recvmsg would only
		 * say EAGAIN (what comes later wakes the loop again). A read that
		 * carried fds ends early by itself, so it is not taken for short. */
		if ((size_t)n < sizeof(buf) && nfds_got == 0)
			break;
	}
	if (ch->freed && ch->depth == 0)
		channel_release(ch);
}

/* Writes as much as the socket takes; fds go out with the first byte of
 * their frame: a frame carrying an fd starts its own sendmsg, and a
 * sendmsg ends where the next frame carrying one begins (each fd must ride
 * with its own frame's bytes, the receiver matches them in order). */
static int
channel_write_some(struct channel *ch)
{
	if (ch->broken)
		return -1;
	while (evbuffer_get_length(ch->out) > 0) {
		size_t avail = evbuffer_get_length(ch->out), want = avail;
		int attach = -1;
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int))];
		} cmsgbuf;
		struct msghdr msg = { 0 };
		struct iovec iov[8];
		int niov;
		ssize_t n;

		if (ch->nfds_out > 0) {
			uint64_t at = ch->fds_out[0].at;
			if (at == ch->out_sent) {
				attach = ch->fds_out[0].fd;
				if (ch->nfds_out > 1 && ch->fds_out[1].at - at < want)
					want = (size_t)(ch->fds_out[1].at - at);
			} else if (at - ch->out_sent < want) {
				want = (size_t)(at - ch->out_sent);
			}
		}
		{
			struct evbuffer_iovec v[8];
			int nv = evbuffer_peek(ch->out, (ev_ssize_t)want, NULL, v, 8);
			size_t sum = 0;
			if (nv > 8)
				nv = 8;
			for (niov = 0; niov < nv && sum < want; niov++) {
				iov[niov].iov_base = v[niov].iov_base;
				iov[niov].iov_len = v[niov].iov_len;
				if (sum + iov[niov].iov_len > want)
					iov[niov].iov_len = want - sum;
				sum += iov[niov].iov_len;
			}
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)niov;
		if (attach >= 0) {
			struct cmsghdr *c;
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &attach, sizeof(int));
		}
		n = sendmsg(ch->fd, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EPIPE || errno == ECONNRESET)   /* it went away */
				log_info("channel to %s: closed at the other end",
				    ct_proc_name(ch->peer));
			else
				log_errno("channel to %s: sendmsg", ct_proc_name(ch->peer));
			ch->broken = true;
			return -1;
		}
		if (attach >= 0) {
			close(attach);
			memmove(ch->fds_out, ch->fds_out + 1,
			    (size_t)(--ch->nfds_out) * sizeof(ch->fds_out[0]));
		}
		evbuffer_drain(ch->out, (size_t)n);
		ch->out_sent += (uint64_t)n;
		ch->st.bytes_out += (uint64_t)n;
	}
	return 0;
}

static void
channel_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct channel *ch = arg;

	if (ch->dead)
		return;
	if (channel_write_some(ch) != 0) {
		channel_die(ch);
		if (ch->freed && ch->depth == 0)
			channel_release(ch);
		return;
	}
	if (evbuffer_get_length(ch->out) > 0)
		event_add(ch->ev_write, NULL);
}

static int
channel_queue(struct channel *ch, const struct ct_frame_hdr *h, const void *payload, size_t plen,
    int fd)
{
	uint8_t raw[CT_FRAME_HDR_LEN];
	bool idle;

	if (ch->dead || ch->freed)
		return -1;
	if (plen > CT_FRAME_MAX_PAYLOAD ||
	    evbuffer_get_length(ch->out) + CT_FRAME_HDR_LEN + plen > CHANNEL_OUT_MAX ||
	    (fd >= 0 && ch->nfds_out >= CHANNEL_MAX_FDS)) {
		ch->st.send_refused++;
		return -1;
	}
	if (fd >= 0) {
		int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (d < 0)
			return -1;
		ch->fds_out[ch->nfds_out].at = ch->out_total;
		ch->fds_out[ch->nfds_out].fd = d;
		ch->nfds_out++;
	}
	idle = evbuffer_get_length(ch->out) == 0;
	frame_hdr_encode(h, raw);
	if (evbuffer_add(ch->out, raw, sizeof(raw)) != 0 ||
	    (plen && evbuffer_add(ch->out, payload, plen) != 0)) {
		log_err("channel: out of memory queueing a frame");
		return -1;
	}
	ch->out_total += CT_FRAME_HDR_LEN + plen;
	ch->st.frames_out++;
	/* Written now when nothing waits before it: a frame is a message
	 * someone waits for (a confirmation, an OK's cause), and the senders
	 * already gather one loop turn's worth into one frame. The socket
	 * taking it whole is the common case; what it does not take waits for
	 * writability. A failure is left to the write callback, which closes
	 * the channel from the loop, never from inside a send. */
	if (!idle || channel_write_some(ch) != 0 || evbuffer_get_length(ch->out) > 0)
		event_add(ch->ev_write, NULL);
	return 0;
}

int
channel_send_fd(struct channel *ch, uint16_t type, uint32_t id, const void *payload, size_t plen,
    int fd)
{
	struct ct_frame_hdr h = {
		.len = (uint32_t)(CT_FRAME_HDR_LEN + plen), .type = type,
		.flags = fd >= 0 ? CT_FRAME_F_FD : 0, .id = id, .pid = ch->pid,
	};
	return channel_queue(ch, &h, payload, plen, fd);
}

int
channel_send(struct channel *ch, uint16_t type, uint32_t id, const void *payload, size_t plen)
{
	return channel_send_fd(ch, type, id, payload, plen, -1);
}

int
channel_forward(struct channel *ch, const struct frame *f)
{
	struct ct_frame_hdr h = f->hdr;

	h.flags = f->fd >= 0 ? (h.flags | CT_FRAME_F_FD) : (h.flags & ~CT_FRAME_F_FD);
	return channel_queue(ch, &h, f->payload, f->plen, f->fd);
}

int
channel_flush(struct channel *ch, int timeout_ms)
{
	int64_t start = ct_now_ms_mono();

	while (!ch->dead && evbuffer_get_length(ch->out) > 0) {
		struct pollfd p = { .fd = ch->fd, .events = POLLOUT };
		int left = timeout_ms - (int)(ct_now_ms_mono() - start);

		if (left <= 0)
			return -1;
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			return -1;
		if (channel_write_some(ch) != 0)
			return -1;
	}
	return evbuffer_get_length(ch->out) == 0 ? 0 : -1;
}
