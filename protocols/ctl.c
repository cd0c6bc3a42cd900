/*
 * The gateway <-> VMM control channel: wire format, permission table and
 * SOCK_SEQPACKET transport. The contract is in ctl.h.
 */
#include "ctl.h"
#include "utf8.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* fds we make room for in ctl_recv(); more arrive as MSG_CTRUNC. */
#define CTL_RECV_FDS 8

/* Reader: protocols/rbuf.h, with the control channel's error code. */

static int
get_u16(struct rbuf *b, uint16_t *v)
{
	return rbuf_get_le16(b, v) == 0 ? 0 : CTL_E_SHORT;
}

static int
get_u32(struct rbuf *b, uint32_t *v)
{
	return rbuf_get_le32(b, v) == 0 ? 0 : CTL_E_SHORT;
}

static int
get_u64(struct rbuf *b, uint64_t *v)
{
	return rbuf_get_le64(b, v) == 0 ? 0 : CTL_E_SHORT;
}

int
ctl_get_str(struct rbuf *b, size_t max, bool no_controls, struct ctl_str *s)
{
	size_t save = b->off;
	const uint8_t *p;
	uint16_t n;
	int r;

	if ((r = get_u16(b, &n)) != 0)
		goto out;
	if (n > max) {
		r = CTL_E_STRLEN;
		goto out;
	}
	if (rbuf_get_bytes(b, n, &p) != 0) {
		r = CTL_E_SHORT;
		goto out;
	}
	if (!ctl_utf8_valid((const char *)p, n, no_controls)) {
		r = CTL_E_UTF8;
		goto out;
	}
	s->ptr = (const char *)p;
	s->len = n;
out:
	if (r != 0)
		b->off = save;
	return r;
}

/* Writer */

void
ctl_wbuf_init(struct ctl_wbuf *b, uint8_t *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
}

static int
put_le(struct ctl_wbuf *b, size_t n, uint64_t v)
{
	if (b->cap - b->len < n)
		return CTL_E_NOSPACE;
	for (size_t i = 0; i < n; i++)
		b->p[b->len + i] = (uint8_t)(v >> (8 * i));
	b->len += n;
	return 0;
}

int
ctl_put_u8(struct ctl_wbuf *b, uint8_t v)
{
	return put_le(b, 1, v);
}

int
ctl_put_u16(struct ctl_wbuf *b, uint16_t v)
{
	return put_le(b, 2, v);
}

int
ctl_put_u32(struct ctl_wbuf *b, uint32_t v)
{
	return put_le(b, 4, v);
}

int
ctl_put_u64(struct ctl_wbuf *b, uint64_t v)
{
	return put_le(b, 8, v);
}

int
ctl_put_bytes(struct ctl_wbuf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n)
		return CTL_E_NOSPACE;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int
ctl_put_str(struct ctl_wbuf *b, const char *s, size_t len, size_t max,
	    bool no_controls)
{
	if (len > max || len > UINT16_MAX)
		return CTL_E_STRLEN;
	if (len > 0 && s == NULL)
		return CTL_E_INVAL;
	if (!ctl_utf8_valid(s, len, no_controls))
		return CTL_E_UTF8;
	if (b->cap - b->len < 2 + len)
		return CTL_E_NOSPACE;
	(void)ctl_put_u16(b, (uint16_t)len);
	(void)ctl_put_bytes(b, s, len);
	return 0;
}

bool
ctl_utf8_valid(const char *s, size_t len, bool no_controls)
{
	const uint8_t *p = (const uint8_t *)s;

	for (size_t i = 0, k; i < len; i += k) {
		uint32_t c;

		if ((k = utf8_seq(p + i, len - i, &c)) == 0 || c == 0)
			return false;
		/* C0, DEL and C1 (U+0080..U+009F) */
		if (no_controls && (c < 0x20 || (c >= 0x7f && c <= 0x9f)))
			return false;
	}
	return true;
}

/* Per-type payload codecs */

static bool
valid_role(uint32_t v)
{
	return v == CTL_ROLE_GATEWAY || v == CTL_ROLE_VMM;
}

static bool
valid_errcode(uint32_t v)
{
	return v >= CTL_ERR_PROTOCOL && v <= CTL_ERR_INTERNAL;
}

static bool
valid_power(uint32_t v)
{
	return v >= CTL_POWER_PAUSE && v <= CTL_POWER_POWEROFF;
}

static int
dec_hello(struct rbuf *b, struct ctl_msg *m)
{
	uint16_t version, role;
	uint32_t reserved;
	int r;

	if ((r = get_u16(b, &version)) != 0)
		return r;
	/* Checked first: what follows the version may differ between them. */
	m->u.hello.version = version;
	if (version != CTL_VERSION)
		return CTL_E_VERSION;
	if ((r = get_u16(b, &role)) != 0 || (r = get_u32(b, &reserved)) != 0)
		return r;
	if (!valid_role(role))
		return CTL_E_ENUM;
	if (reserved != 0)
		return CTL_E_RESERVED;
	if ((r = ctl_get_str(b, CTL_NAME_MAX, true, &m->u.hello.name)) != 0)
		return r;
	if (m->u.hello.name.len == 0)
		return CTL_E_STRLEN;
	m->u.hello.role = role;
	return 0;
}

static int
enc_hello(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	const struct ctl_str *s = &m->u.hello.name;
	int r;

	if (!valid_role(m->u.hello.role))
		return CTL_E_ENUM;
	if (s->len == 0)
		return CTL_E_STRLEN;
	if ((r = ctl_put_u16(b, CTL_VERSION)) != 0 ||
	    (r = ctl_put_u16(b, (uint16_t)m->u.hello.role)) != 0 ||
	    (r = ctl_put_u32(b, 0)) != 0)
		return r;
	return ctl_put_str(b, s->ptr, s->len, CTL_NAME_MAX, true);
}

static int
dec_error(struct rbuf *b, struct ctl_msg *m)
{
	uint32_t code;
	int r;

	if ((r = get_u32(b, &code)) != 0)
		return r;
	if (!valid_errcode(code))
		return CTL_E_ENUM;
	if ((r = ctl_get_str(b, CTL_TEXT_MAX, false, &m->u.error.text)) != 0)
		return r;
	m->u.error.code = code;
	return 0;
}

static int
enc_error(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	const struct ctl_str *s = &m->u.error.text;
	int r;

	if (!valid_errcode(m->u.error.code))
		return CTL_E_ENUM;
	if ((r = ctl_put_u32(b, m->u.error.code)) != 0)
		return r;
	return ctl_put_str(b, s->ptr, s->len, CTL_TEXT_MAX, false);
}

/* CONSOLE_OUT and CONSOLE_IN share a layout: the rest of the packet. */
static int
dec_data(struct rbuf *b, struct ctl_data *d)
{
	size_t n = rbuf_left(b);

	if (n == 0)
		return CTL_E_LENGTH;
	d->len = n;
	return rbuf_get_bytes(b, n, &d->ptr) == 0 ? 0 : CTL_E_SHORT;
}

static int
enc_data(struct ctl_wbuf *b, const struct ctl_data *d)
{
	if (d->len == 0 || d->len > CTL_MAX_DATA)
		return CTL_E_LENGTH;
	if (d->ptr == NULL)
		return CTL_E_INVAL;
	return ctl_put_bytes(b, d->ptr, d->len);
}

static int
dec_console_out(struct rbuf *b, struct ctl_msg *m)
{
	return dec_data(b, &m->u.console_out);
}

static int
enc_console_out(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	return enc_data(b, &m->u.console_out);
}

static int
dec_console_in(struct rbuf *b, struct ctl_msg *m)
{
	return dec_data(b, &m->u.console_in);
}

static int
enc_console_in(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	return enc_data(b, &m->u.console_in);
}

static int
dec_credit(struct rbuf *b, struct ctl_msg *m)
{
	uint32_t n;
	int r;

	if ((r = get_u32(b, &n)) != 0)
		return r;
	if (n == 0 || n > CTL_CREDIT_MAX)
		return CTL_E_LENGTH;
	m->u.credit.bytes = n;
	return 0;
}

static int
enc_credit(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	uint32_t n = m->u.credit.bytes;

	if (n == 0 || n > CTL_CREDIT_MAX)
		return CTL_E_LENGTH;
	return ctl_put_u32(b, n);
}

/* A byte count: 8 bytes, never 0. */
static int
dec_count(struct rbuf *b, struct ctl_count *c)
{
	uint64_t n;
	int r;

	if ((r = get_u64(b, &n)) != 0)
		return r;
	if (n == 0)
		return CTL_E_LENGTH;
	c->bytes = n;
	return 0;
}

static int
enc_count(struct ctl_wbuf *b, const struct ctl_count *c)
{
	if (c->bytes == 0)
		return CTL_E_LENGTH;
	return ctl_put_u64(b, c->bytes);
}

static int
dec_lost(struct rbuf *b, struct ctl_msg *m)
{
	return dec_count(b, &m->u.lost);
}

static int
enc_lost(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	return enc_count(b, &m->u.lost);
}

static int
dec_empty(struct rbuf *b, struct ctl_msg *m)
{
	(void)b;
	(void)m;
	return 0; /* ctl_decode() rejects any payload as trailing */
}

static int
enc_empty(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	(void)b;
	(void)m;
	return 0;
}

static int
dec_power(struct rbuf *b, struct ctl_msg *m)
{
	uint32_t action;
	int r;

	if ((r = get_u32(b, &action)) != 0)
		return r;
	if (!valid_power(action))
		return CTL_E_ENUM;
	m->u.power.action = action;
	return 0;
}

static int
enc_power(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	if (!valid_power(m->u.power.action))
		return CTL_E_ENUM;
	return ctl_put_u32(b, m->u.power.action);
}

static int
dec_state(struct rbuf *b, struct ctl_msg *m)
{
	uint32_t state, reason, cpu;
	uint64_t rip;
	int r;

	if ((r = get_u32(b, &state)) != 0 || (r = get_u32(b, &reason)) != 0 ||
	    (r = get_u64(b, &rip)) != 0 || (r = get_u32(b, &cpu)) != 0)
		return r;
	if (!vmstate_on_wire(state) || !vmstate_reason_valid(reason))
		return CTL_E_ENUM;
	if (cpu == CTL_CPU_NONE && rip != 0)
		return CTL_E_RESERVED;
	if ((r = ctl_get_str(b, CTL_TEXT_MAX, false, &m->u.state.detail)) != 0)
		return r;
	m->u.state.state = state;
	m->u.state.reason = reason;
	m->u.state.rip = rip;
	m->u.state.cpu = cpu;
	return 0;
}

static int
enc_state(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	const struct ctl_str *s = &m->u.state.detail;
	int r;

	if (!vmstate_on_wire(m->u.state.state) ||
	    !vmstate_reason_valid(m->u.state.reason))
		return CTL_E_ENUM;
	if (m->u.state.cpu == CTL_CPU_NONE && m->u.state.rip != 0)
		return CTL_E_RESERVED;
	if ((r = ctl_put_u32(b, m->u.state.state)) != 0 ||
	    (r = ctl_put_u32(b, m->u.state.reason)) != 0 ||
	    (r = ctl_put_u64(b, m->u.state.rip)) != 0 ||
	    (r = ctl_put_u32(b, m->u.state.cpu)) != 0)
		return r;
	return ctl_put_str(b, s->ptr, s->len, CTL_TEXT_MAX, false);
}

static int
dec_display_client(struct rbuf *b, struct ctl_msg *m)
{
	uint32_t rights;
	int r;

	if ((r = get_u32(b, &rights)) != 0)
		return r;
	if (rights != CTL_DISPLAY_VIEW && rights != CTL_DISPLAY_CONTROL)
		return CTL_E_ENUM;
	m->u.display_client.rights = rights;
	return 0;
}

static int
enc_display_client(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	uint32_t rights = m->u.display_client.rights;

	if (rights != CTL_DISPLAY_VIEW && rights != CTL_DISPLAY_CONTROL)
		return CTL_E_ENUM;
	return ctl_put_u32(b, rights);
}

static bool
valid_dim(uint32_t v)
{
	return v >= 1 && v <= CTL_DISPLAY_MAX;
}

static int
dec_display_info(struct rbuf *b, struct ctl_msg *m)
{
	uint32_t w, h;
	int r;

	if ((r = get_u32(b, &w)) != 0 || (r = get_u32(b, &h)) != 0)
		return r;
	if (!valid_dim(w) || !valid_dim(h))
		return CTL_E_LENGTH;
	m->u.display_info.width = w;
	m->u.display_info.height = h;
	return 0;
}

static int
enc_display_info(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	uint32_t w = m->u.display_info.width, h = m->u.display_info.height;
	int r;

	if (!valid_dim(w) || !valid_dim(h))
		return CTL_E_LENGTH;
	if ((r = ctl_put_u32(b, w)) != 0)
		return r;
	return ctl_put_u32(b, h);
}

static int
dec_screenshot_done(struct rbuf *b, struct ctl_msg *m)
{
	return dec_count(b, &m->u.screenshot_done);
}

static int
enc_screenshot_done(struct ctl_wbuf *b, const struct ctl_msg *m)
{
	return enc_count(b, &m->u.screenshot_done);
}

/*
 * The dispatch and permission table (OpenSSH monitor.c style): one row per
 * type, reserved types have a name and nothing else, so they neither decode
 * nor pass ctl_allowed().
 */
#define GW (1u << CTL_ROLE_GATEWAY)
#define VMM (1u << CTL_ROLE_VMM)

struct ctl_type_desc {
	const char *name;
	unsigned senders; /* bit (1 << role) per role that may send it */
	int (*decode)(struct rbuf *, struct ctl_msg *);
	int (*encode)(struct ctl_wbuf *, const struct ctl_msg *);
};

static const struct ctl_type_desc ctl_types[] = {
    [CTL_T_HELLO] = {"HELLO", GW | VMM, dec_hello, enc_hello},
    [CTL_T_ERROR] = {"ERROR", GW | VMM, dec_error, enc_error},
    [CTL_T_CONSOLE_OUT] = {"CONSOLE_OUT", VMM, dec_console_out,
			   enc_console_out},
    [CTL_T_CONSOLE_IN] = {"CONSOLE_IN", GW, dec_console_in, enc_console_in},
    [CTL_T_CONSOLE_CREDIT] = {"CONSOLE_CREDIT", GW | VMM, dec_credit,
			      enc_credit},
    [CTL_T_CONSOLE_LOST] = {"CONSOLE_LOST", VMM, dec_lost, enc_lost},
    [CTL_T_BREAK] = {"BREAK", GW, dec_empty, enc_empty},
    [CTL_T_POWER] = {"POWER", GW, dec_power, enc_power},
    [CTL_T_STATE] = {"STATE", VMM, dec_state, enc_state},
    [CTL_T_DISPLAY_CLIENT] = {"DISPLAY_CLIENT", GW, dec_display_client,
			      enc_display_client},
    [CTL_T_DISPLAY_INFO] = {"DISPLAY_INFO", VMM, dec_display_info,
			    enc_display_info},
    [CTL_T_SCREENSHOT] = {"SCREENSHOT", GW, dec_empty, enc_empty},
    [CTL_T_SCREENSHOT_DONE] = {"SCREENSHOT_DONE", VMM, dec_screenshot_done,
			       enc_screenshot_done},
    [CTL_T_INPUT_KEY] = {"INPUT_KEY", 0, NULL, NULL},
    [CTL_T_INPUT_POINTER] = {"INPUT_POINTER", 0, NULL, NULL},
    [CTL_T_STATS_REQUEST] = {"STATS_REQUEST", 0, NULL, NULL},
    [CTL_T_STATS] = {"STATS", 0, NULL, NULL},
};

#undef GW
#undef VMM

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct ctl_type_desc *
type_desc(uint16_t type)
{
	if (type >= NELEM(ctl_types) || ctl_types[type].decode == NULL)
		return NULL;
	return &ctl_types[type];
}

bool
ctl_allowed(enum ctl_role sender, uint16_t type)
{
	const struct ctl_type_desc *d = type_desc(type);

	if (d == NULL || !valid_role(sender))
		return false;
	return (d->senders & (1u << sender)) != 0;
}

int
ctl_decode(const uint8_t *pkt, size_t len, struct ctl_msg *out)
{
	const struct ctl_type_desc *d;
	struct rbuf b;
	int r;

	if (len > CTL_MAX_MSG)
		return CTL_E_TOOBIG;
	if (out == NULL || (pkt == NULL && len > 0))
		return CTL_E_INVAL;
	memset(out, 0, sizeof(*out));
	rbuf_init(&b, pkt, len);
	if ((r = get_u16(&b, &out->type)) != 0 ||
	    (r = get_u16(&b, &out->flags)) != 0 ||
	    (r = get_u32(&b, &out->seq)) != 0)
		return r;
	if (out->flags != 0)
		return CTL_E_FLAGS;
	if ((d = type_desc(out->type)) == NULL)
		return CTL_E_TYPE;
	if ((r = d->decode(&b, out)) != 0)
		return r;
	if (rbuf_left(&b) != 0)
		return CTL_E_TRAILING;
	return 0;
}

int
ctl_encode(const struct ctl_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	const struct ctl_type_desc *d;
	struct ctl_wbuf b;
	int r;

	if (m == NULL || buf == NULL || len == NULL)
		return CTL_E_INVAL;
	if ((d = type_desc(m->type)) == NULL)
		return CTL_E_TYPE;
	if (m->flags != 0)
		return CTL_E_FLAGS;
	/* Never build more than the peer accepts, whatever cap says. */
	ctl_wbuf_init(&b, buf, cap < CTL_MAX_MSG ? cap : CTL_MAX_MSG);
	if ((r = ctl_put_u16(&b, m->type)) != 0 ||
	    (r = ctl_put_u16(&b, 0)) != 0 || (r = ctl_put_u32(&b, m->seq)) != 0)
		return r;
	if ((r = d->encode(&b, m)) != 0)
		return r;
	*len = b.len;
	return 0;
}

int
ctl_encode_hello(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
		 enum ctl_role role, const char *name)
{
	struct ctl_msg m = {.type = CTL_T_HELLO, .seq = seq};

	if (name == NULL)
		return CTL_E_INVAL;
	m.u.hello.version = CTL_VERSION;
	m.u.hello.role = role;
	m.u.hello.name.ptr = name;
	m.u.hello.name.len = strlen(name);
	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_error(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
		 enum ctl_errcode code, const char *text)
{
	struct ctl_msg m = {.type = CTL_T_ERROR, .seq = seq};

	m.u.error.code = code;
	m.u.error.text.ptr = text;
	m.u.error.text.len = text != NULL ? strlen(text) : 0;
	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_console_out(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
		       const uint8_t *data, size_t n)
{
	struct ctl_msg m = {.type = CTL_T_CONSOLE_OUT, .seq = seq};

	m.u.console_out.ptr = data;
	m.u.console_out.len = n;
	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_console_in(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
		      const uint8_t *data, size_t n)
{
	struct ctl_msg m = {.type = CTL_T_CONSOLE_IN, .seq = seq};

	m.u.console_in.ptr = data;
	m.u.console_in.len = n;
	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_console_credit(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
			  uint32_t bytes)
{
	struct ctl_msg m = {.type = CTL_T_CONSOLE_CREDIT, .seq = seq};

	m.u.credit.bytes = bytes;
	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_console_lost(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
			uint64_t bytes)
{
	struct ctl_msg m = {.type = CTL_T_CONSOLE_LOST, .seq = seq};

	m.u.lost.bytes = bytes;
	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_break(uint8_t *buf, size_t cap, size_t *len, uint32_t seq)
{
	struct ctl_msg m = {.type = CTL_T_BREAK, .seq = seq};

	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_display_client(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
			  enum ctl_display_rights rights)
{
	struct ctl_msg m = {.type = CTL_T_DISPLAY_CLIENT, .seq = seq};

	m.u.display_client.rights = rights;
	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_display_info(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
			uint32_t width, uint32_t height)
{
	struct ctl_msg m = {.type = CTL_T_DISPLAY_INFO, .seq = seq};

	m.u.display_info.width = width;
	m.u.display_info.height = height;
	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_screenshot(uint8_t *buf, size_t cap, size_t *len, uint32_t seq)
{
	struct ctl_msg m = {.type = CTL_T_SCREENSHOT, .seq = seq};

	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_screenshot_done(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
			   uint64_t bytes)
{
	struct ctl_msg m = {.type = CTL_T_SCREENSHOT_DONE, .seq = seq};

	m.u.screenshot_done.bytes = bytes;
	return ctl_encode(&m, buf, cap, len);
}

bool
ctl_carries_fd(uint16_t type)
{
	return type == CTL_T_DISPLAY_CLIENT || type == CTL_T_SCREENSHOT;
}

int
ctl_encode_power(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
		 enum ctl_power action)
{
	struct ctl_msg m = {.type = CTL_T_POWER, .seq = seq};

	m.u.power.action = action;
	return ctl_encode(&m, buf, cap, len);
}

int
ctl_encode_state(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
		 enum vmstate state, enum vmstate_reason reason, uint64_t rip,
		 uint32_t cpu, const char *detail)
{
	struct ctl_msg m = {.type = CTL_T_STATE, .seq = seq};

	m.u.state.state = state;
	m.u.state.reason = reason;
	m.u.state.rip = rip;
	m.u.state.cpu = cpu;
	m.u.state.detail.ptr = detail;
	m.u.state.detail.len = detail != NULL ? strlen(detail) : 0;
	return ctl_encode(&m, buf, cap, len);
}

/* Transport */

/* One packet in niov pieces, with pass_fd if >= 0: see ctl_send(). */
static int
sendv(int fd, struct iovec *iov, int niov, size_t len, int pass_fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	/* A SEQPACKET send is all or nothing, so EINTR means resend. */
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return CTL_E_AGAIN;
		if (errno == EPIPE || errno == ECONNRESET)
			return CTL_E_EOF;
		return CTL_E_SYS;
	}
	if ((size_t)n != len) {
		errno = EMSGSIZE;
		return CTL_E_SYS;
	}
	return 0;
}

int
ctl_send(int fd, const uint8_t *pkt, size_t len, int pass_fd)
{
	struct iovec iov = {.iov_base = (void *)pkt, .iov_len = len};

	if (pkt == NULL || len < CTL_HDR_LEN || len > CTL_MAX_MSG)
		return CTL_E_INVAL;
	return sendv(fd, &iov, 1, len, pass_fd);
}

int
ctl_encode_data_head(uint8_t *hdr, uint16_t type, uint32_t seq, size_t n)
{
	struct ctl_wbuf b;

	if (type != CTL_T_CONSOLE_OUT && type != CTL_T_CONSOLE_IN)
		return CTL_E_TYPE;
	if (n == 0 || n > CTL_MAX_DATA)
		return CTL_E_LENGTH;
	ctl_wbuf_init(&b, hdr, CTL_HDR_LEN);
	(void)ctl_put_u16(&b, type);
	(void)ctl_put_u16(&b, 0);
	(void)ctl_put_u32(&b, seq);
	return 0;
}

int
ctl_send_data(int fd, uint16_t type, uint32_t seq, const uint8_t *data,
	      size_t n)
{
	uint8_t hdr[CTL_HDR_LEN];
	struct iovec iov[2] = {{.iov_base = hdr, .iov_len = sizeof(hdr)},
			       {.iov_base = (void *)data, .iov_len = n}};
	int r;

	if (data == NULL)
		return CTL_E_INVAL;
	if ((r = ctl_encode_data_head(hdr, type, seq, n)) != 0)
		return r;
	return sendv(fd, iov, 2, sizeof(hdr) + n, -1);
}

int
ctl_recv(int fd, uint8_t *buf, size_t cap, size_t *len, int *fd_out)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(CTL_RECV_FDS * sizeof(int))];
	} cm;
	struct iovec iov = {.iov_base = buf,
			    .iov_len = cap < CTL_MAX_MSG ? cap : CTL_MAX_MSG};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cm.buf,
			    .msg_controllen = sizeof(cm.buf)};
	int fds[CTL_RECV_FDS], nfds = 0, r = 0;
	bool stray = false;
	ssize_t n;

	if (fd_out != NULL)
		*fd_out = -1;
	if (buf == NULL || len == NULL) {
		r = CTL_E_INVAL;
		goto out;
	}
	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			r = CTL_E_AGAIN;
		else if (errno == ECONNRESET)
			r = CTL_E_EOF;
		else
			r = CTL_E_SYS;
		goto out;
	}

	/* Collect every fd first so that each error path closes them all. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL;
	     c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0)) {
			stray = true;
			continue;
		}
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int x;

			memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (nfds < CTL_RECV_FDS)
				fds[nfds++] = x;
			else
				close(x); /* cannot happen: cm is sized */
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		stray = true; /* the kernel dropped fds that did not fit */

	if (mh.msg_flags & MSG_TRUNC)
		r = CTL_E_TRUNC;
	else if (n == 0)
		r = CTL_E_EOF;
	else if (stray || nfds > (fd_out != NULL ? 1 : 0))
		r = CTL_E_UNEXPECTED_FD;
	if (r != 0)
		goto out;
	if (nfds == 1) {
		*fd_out = fds[0];
		nfds = 0; /* transferred */
	}
	*len = (size_t)n;
out:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return r;
}

/* Flow control */

int
ctl_credit_grant(struct ctl_credit *c, uint32_t n)
{
	if (n == 0 || n > CTL_CREDIT_MAX - c->avail)
		return CTL_E_CREDIT;
	c->avail += n;
	return 0;
}

int
ctl_credit_use(struct ctl_credit *c, size_t n)
{
	if (n > c->avail)
		return CTL_E_CREDIT;
	c->avail -= (uint32_t)n;
	return 0;
}

/* Names */

static const char *const ctl_errstr[] = {
    [0] = "success",
    [-CTL_E_SHORT] = "message truncated",
    [-CTL_E_TRAILING] = "trailing bytes after message",
    [-CTL_E_TYPE] = "unknown message type",
    [-CTL_E_FLAGS] = "unknown header flags",
    [-CTL_E_LENGTH] = "length or count out of range",
    [-CTL_E_ENUM] = "enumerated value out of range",
    [-CTL_E_RESERVED] = "reserved field not zero",
    [-CTL_E_STRLEN] = "string length out of range",
    [-CTL_E_UTF8] = "string not valid UTF-8 or has forbidden characters",
    [-CTL_E_VERSION] = "protocol version mismatch",
    [-CTL_E_TOOBIG] = "message too large",
    [-CTL_E_NOSPACE] = "buffer too small",
    [-CTL_E_INVAL] = "invalid argument",
    [-CTL_E_SYS] = "system error",
    [-CTL_E_AGAIN] = "would block",
    [-CTL_E_EOF] = "peer closed the channel",
    [-CTL_E_TRUNC] = "received message too large",
    [-CTL_E_UNEXPECTED_FD] = "unexpected file descriptor",
    [-CTL_E_CREDIT] = "console flow-control credit violated",
};

static const char *
lookup(const char *const *t, size_t n, long i)
{
	if (i < 0 || (size_t)i >= n || t[i] == NULL)
		return "?";
	return t[i];
}

const char *
ctl_strerror(int code)
{
	return lookup(ctl_errstr, NELEM(ctl_errstr), -(long)code);
}

const char *
ctl_type_name(uint16_t type)
{
	if (type >= NELEM(ctl_types) || ctl_types[type].name == NULL)
		return "?";
	return ctl_types[type].name;
}

const char *
ctl_power_name(uint32_t action)
{
	static const char *const t[] = {
	    [CTL_POWER_PAUSE] = "pause",
	    [CTL_POWER_RESUME] = "resume",
	    [CTL_POWER_RESET] = "reset",
	    [CTL_POWER_POWEROFF] = "poweroff",
	};
	return lookup(t, NELEM(t), action);
}

const char *
ctl_errcode_name(uint32_t code)
{
	static const char *const t[] = {
	    [CTL_ERR_PROTOCOL] = "protocol error",
	    [CTL_ERR_VERSION] = "version mismatch",
	    [CTL_ERR_NOT_PERMITTED] = "not permitted",
	    [CTL_ERR_NAME] = "wrong VM name",
	    [CTL_ERR_INVALID_STATE] = "invalid in current state",
	    [CTL_ERR_UNSUPPORTED] = "unsupported",
	    [CTL_ERR_INTERNAL] = "internal error",
	};
	return lookup(t, NELEM(t), code);
}
