/*
 * vncprobe: a VNC viewer for tests, on libvncclient.  It connects, takes
 * the first full frame, may type and point, watches the updates for a while
 * and reports what it saw on stdout, one fact per line:
 *
 *	size W H		the server's framebuffer
 *	name NAME		its desktop name
 *	rect X Y W H		one rectangle of an update, while watching
 *	updates N		updates completed while watching
 *
 * With --stamp (for the benchmark, tests/bench/bench_display.py) rect lines
 * are not printed; instead, times in CLOCK_MONOTONIC nanoseconds:
 *
 *	ready T FIRST		the first full frame is in (FIRST: the bytes
 *				so far, the handshake included)
 *	update T BYTES N AREA CHANGED TOP
 *				an update was applied: BYTES on the wire from
 *				the end of the previous message to the end of
 *				this one, N rectangles covering AREA pixels;
 *				CHANGED 1 if it changed a pixel at or below
 *				line --track-top (else 0; -1 without it),
 *				TOP of the AREA pixels lie above that line
 *
 * BYTES come from the kernel's counter on a TCP connection (TCP_INFO's
 * bytes received, less what is still queued in the kernel and in
 * libvncclient's buffer); -1 on other connections.  --refresh N sends N
 * non-incremental requests for the whole screen, each once the previous
 * one is answered (then the actions run).
 *
 * usage: vncprobe TARGET [--encodings LIST] [--out FILE.ppm]
 *                 [--type TEXT] [--key KEYSYM] [--pointer X,Y,BUTTONS]...
 *                 [--watch MS] [--final FILE.ppm]
 *                 [--stamp] [--track-top Y] [--refresh N] [--password PW]
 *                 [--user NAME --ca FILE]
 * --password alone answers classic VNC authentication; with --user it logs
 * in with VeNCrypt X509Plain instead (the only security type it then
 * offers), checking the server's certificate against the CA in --ca.
 * TARGET is HOST:PORT, the path of a UNIX socket, or fd:N (a connected
 * stream it inherited).  Frames are written as binary PPM (P6).  In TEXT,
 * "\n" is Return.  Exit status 0, or 1 with the reason on stderr.
 */
#include <rfb/rfbclient.h>

#include <errno.h>
#include <getopt.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#define MAX_ACTIONS 64

static int watching;
static long updates, frames;
static long long covered; /* pixels received before watching */

/* --stamp: what the current update did, and the byte count at the end of
 * the previous one. */
static int stamp;
static int track_top = -1;
static uint8_t *reference; /* --track-top: the screen as last seen */
static int ref_w, ref_h;   /* ... at the size it had then */
static long long upd_area, last_area, consumed_before;
static int upd_rects, upd_changed;
static long long upd_top; /* pixels above --track-top */

static const char *password;  /* --password */
static const char *user, *ca; /* --user, --ca: VeNCrypt X509Plain */

/* libvncclient frees what this returns. */
static char *
get_password(rfbClient *cl)
{
	(void)cl;
	return strdup(password);
}

/*
 * libvncclient 0.9.14 never frees a VeNCrypt connection's GnuTLS
 * credentials (tls_gnutls.c: FreeTLS deinits the session only), so the
 * sanitizer build's leak check would fail every VeNCrypt run on a leak
 * that is not ours: what GnuTLS (and libtasn1 under it) allocated is left
 * out of the report.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libgnutls.so\nleak:libtasn1.so\n";
}

/* VeNCrypt's questions: the CA for the TLS step, then the user and password
 * for Plain. libvncclient frees what it is given. */
static rfbCredential *
get_credential(rfbClient *cl, int type)
{
	rfbCredential *c = calloc(1, sizeof(*c));

	(void)cl;
	if (c == NULL)
		return NULL;
	if (type == rfbCredentialTypeX509) {
		c->x509Credential.x509CACertFile = strdup(ca);
		c->x509Credential.x509CrlVerifyMode = rfbX509CrlVerifyNone;
	} else if (type == rfbCredentialTypeUser) {
		c->userCredential.username = strdup(user);
		c->userCredential.password = strdup(password);
	} else {
		free(c);
		return NULL;
	}
	return c;
}

static long long
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Bytes the kernel has received on a TCP connection, or -1. */
static long long
received(int sock)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(sock, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) +
		      sizeof(ti.tcpi_bytes_received))
		return -1;
	return (long long)ti.tcpi_bytes_received;
}

/* Bytes libvncclient has consumed from a TCP connection so far, or -1.
 * What is queued is read between two equal counts of what was received:
 * bytes arriving in between would otherwise count as consumed later. */
static long long
consumed(rfbClient *cl)
{
	for (int tries = 0; tries < 100; tries++) {
		int inq = 0;
		long long before = received(cl->sock);
		if (before < 0 || ioctl(cl->sock, SIOCINQ, &inq) != 0)
			return -1;
		if (received(cl->sock) == before)
			return before - inq - cl->buffered;
	}
	return -1;
}

/* Did the rectangle change a tracked pixel?  The reference follows. */
static void
track(rfbClient *cl, int x, int y, int w, int h)
{
	if (y < track_top) {
		h -= track_top - y;
		y = track_top;
	}
	for (int row = y; row < y + h; row++) {
		size_t off = ((size_t)row * cl->width + (size_t)x) * 4;
		if (memcmp(reference + off, cl->frameBuffer + off,
			   (size_t)w * 4) != 0) {
			upd_changed = 1;
			memcpy(reference + off, cl->frameBuffer + off,
			       (size_t)w * 4);
		}
	}
}

static void
on_update(rfbClient *cl, int x, int y, int w, int h)
{
	if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > cl->width ||
	    y + h > cl->height)
		return;
	upd_rects++;
	upd_area += (long long)w * h;
	if (y < track_top)
		upd_top += (long long)w *
			   ((y + h < track_top ? y + h : track_top) - y);
	/* A resized screen is not tracked (our server never resizes). */
	if (reference != NULL && watching && cl->width == ref_w &&
	    cl->height == ref_h)
		track(cl, x, y, w, h);
	if (!watching)
		covered += (long long)w * h;
	else if (!stamp)
		printf("rect %d %d %d %d\n", x, y, w, h);
}

/* The first frame is the update that brought the whole screen: an update
 * with only pseudo-rectangles (cursor, supported messages) comes first
 * from some servers. */
static void
on_finished(rfbClient *cl)
{
	if (!watching && covered >= (long long)cl->width * cl->height)
		frames++;
	if (watching)
		updates++;
	if (stamp) {
		long long c = consumed(cl);
		if (watching)
			printf("update %lld %lld %d %lld %d %lld\n", now_ns(),
			       c >= 0 && consumed_before >= 0
				   ? c - consumed_before
				   : -1,
			       upd_rects, upd_area,
			       reference != NULL ? upd_changed : -1, upd_top);
		consumed_before = c;
	}
	last_area = upd_area;
	upd_rects = upd_changed = 0;
	upd_area = upd_top = 0;
}

static int
write_ppm(rfbClient *cl, const char *path)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL) {
		fprintf(stderr, "vncprobe: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "P6\n%d %d\n255\n", cl->width, cl->height);
	/* The client asked for 32 bits, red in the low byte (its default). */
	for (int i = 0; i < cl->width * cl->height; i++) {
		const uint8_t *p = cl->frameBuffer + (size_t)i * 4;
		fputc(p[0], f);
		fputc(p[1], f);
		fputc(p[2], f);
	}
	return fclose(f) == 0 ? 0 : -1;
}

static long
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1000L + tv.tv_usec / 1000;
}

/* Handles server messages for MS milliseconds. */
static int
pump(rfbClient *cl, long ms)
{
	long end = now_ms() + ms;

	for (long left; (left = end - now_ms()) > 0;) {
		int r = WaitForMessage(cl, (unsigned)(left * 1000));
		if (r < 0)
			return -1;
		if (r > 0 && !HandleRFBServerMessage(cl))
			return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"encodings", required_argument, NULL, 'e'},
	    {"out", required_argument, NULL, 'o'},
	    {"type", required_argument, NULL, 't'},
	    {"key", required_argument, NULL, 'k'},
	    {"pointer", required_argument, NULL, 'p'},
	    {"watch", required_argument, NULL, 'w'},
	    {"final", required_argument, NULL, 'f'},
	    {"stamp", no_argument, NULL, 's'},
	    {"track-top", required_argument, NULL, 'T'},
	    {"refresh", required_argument, NULL, 'r'},
	    {"password", required_argument, NULL, 'P'},
	    {"user", required_argument, NULL, 'u'},
	    {"ca", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	struct {
		int kind; /* 't', 'k', 'p' */
		const char *arg;
	} act[MAX_ACTIONS];
	int nact = 0, c;
	const char *out = NULL, *final = NULL, *enc = NULL;
	long watch = 0, refresh = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			enc = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			final = optarg;
			break;
		case 'w':
			watch = strtol(optarg, NULL, 10);
			break;
		case 's':
			stamp = 1;
			break;
		case 'T':
			track_top = atoi(optarg);
			break;
		case 'r':
			refresh = strtol(optarg, NULL, 10);
			break;
		case 'P':
			password = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'c':
			ca = optarg;
			break;
		case 't':
		case 'k':
		case 'p':
			if (nact == MAX_ACTIONS)
				return 1;
			act[nact].kind = c;
			act[nact++].arg = optarg;
			break;
		default:
			return 1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: vncprobe TARGET [options]\n");
		return 1;
	}
	if (user != NULL && (password == NULL || ca == NULL)) {
		fprintf(stderr, "vncprobe: --user needs --password and --ca\n");
		return 1;
	}
	const char *target = argv[optind];
	rfbClient *cl = rfbGetClient(8, 3, 4);
	if (user != NULL) {
		/* VeNCrypt only: TLS, then this user and password. */
		static const uint32_t vencrypt[] = {rfbVeNCrypt};
		SetClientAuthSchemes(cl, vencrypt, 1);
		cl->GetCredential = get_credential;
	} else if (password != NULL) {
		/* Classic VNC authentication only, with this password. */
		static const uint32_t vncauth[] = {rfbVncAuth};
		SetClientAuthSchemes(cl, vncauth, 1);
		cl->GetPassword = get_password;
	}
	cl->GotFrameBufferUpdate = on_update;
	cl->FinishedFrameBufferUpdate = on_finished;
	if (enc != NULL)
		cl->appData.encodingsString = enc;
	/* Lossless: the tests compare pixels with the font. */
	cl->appData.enableJPEG = FALSE;
	if (strncmp(target, "fd:", 3) == 0) {
		cl->listenSpecified = TRUE;
		cl->sock = atoi(target + 3);
	} else {
		const char *colon = strrchr(target, ':');
		free(cl->serverHost); /* rfbGetClient's "" */
		if (target[0] == '/' || colon == NULL) {
			cl->serverHost = strdup(target);
			cl->serverPort = 0;
		} else {
			cl->serverHost =
			    strndup(target, (size_t)(colon - target));
			cl->serverPort = atoi(colon + 1);
		}
	}
	if (!rfbInitClient(cl, NULL, NULL)) {
		fprintf(stderr, "vncprobe: cannot connect to %s\n", target);
		return 1;
	}
	printf("size %d %d\nname %s\n", cl->width, cl->height,
	       cl->desktopName ? cl->desktopName : "");
	/* The first request was for the whole screen: wait for it. */
	long give_up = now_ms() + 10000;
	while (frames == 0) {
		int r = WaitForMessage(cl, 100 * 1000);
		if (now_ms() > give_up || r < 0 ||
		    (r > 0 && !HandleRFBServerMessage(cl))) {
			fprintf(stderr, "vncprobe: no first frame\n");
			return 1;
		}
	}
	if (out != NULL && write_ppm(cl, out) != 0)
		return 1;
	if (stamp) {
		/* Line by line: the benchmark reads as it goes. */
		setvbuf(stdout, NULL, _IOLBF, 0);
		printf("ready %lld %lld\n", now_ns(), consumed_before);
	}
	if (track_top >= 0 && track_top < cl->height) {
		size_t n = (size_t)cl->width * cl->height * 4;
		if ((reference = malloc(n)) == NULL)
			return 1;
		ref_w = cl->width;
		ref_h = cl->height;
		memcpy(reference, cl->frameBuffer, n);
	}
	watching = 1;
	for (long i = 0; i < refresh; i++) {
		long give = now_ms() + 30000;
		last_area = 0;
		SendFramebufferUpdateRequest(cl, 0, 0, cl->width, cl->height,
					     FALSE);
		/* Answered by the first update that covers everything. */
		for (int whole = 0; !whole;) {
			int r = WaitForMessage(cl, 100 * 1000);
			if (now_ms() > give || r < 0 ||
			    (r > 0 && !HandleRFBServerMessage(cl))) {
				fprintf(stderr, "vncprobe: no refresh\n");
				return 1;
			}
			whole = last_area >= (long long)cl->width * cl->height;
		}
	}
	for (int i = 0; i < nact; i++) {
		const char *a = act[i].arg;
		if (act[i].kind == 't') {
			for (; *a; a++) {
				uint32_t k =
				    *a == '\n' ? XK_Return : (uint8_t)*a;
				SendKeyEvent(cl, k, TRUE);
				SendKeyEvent(cl, k, FALSE);
			}
		} else if (act[i].kind == 'k') {
			uint32_t k = (uint32_t)strtoul(a, NULL, 0);
			SendKeyEvent(cl, k, TRUE);
			SendKeyEvent(cl, k, FALSE);
		} else {
			int x, y, b;
			if (sscanf(a, "%d,%d,%d", &x, &y, &b) != 3)
				return 1;
			SendPointerEvent(cl, x, y, b);
		}
		if (pump(cl, 20) != 0)
			break;
	}
	if (watch > 0 && pump(cl, watch) != 0) {
		fprintf(stderr, "vncprobe: connection lost\n");
		return 1;
	}
	printf("updates %ld\n", updates);
	if (final != NULL && write_ppm(cl, final) != 0)
		return 1;
	/* libvncclient (0.9.14) leaves the framebuffer its default
	 * MallocFrameBuffer made to us. */
	free(cl->frameBuffer);
	cl->frameBuffer = NULL;
	rfbClientCleanup(cl);
	return 0;
}
