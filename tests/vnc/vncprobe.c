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
 * usage: vncprobe TARGET [--encodings LIST] [--out FILE.ppm]
 *                 [--type TEXT] [--key KEYSYM] [--pointer X,Y,BUTTONS]...
 *                 [--watch MS] [--final FILE.ppm]
 * TARGET is HOST:PORT, the path of a UNIX socket, or fd:N (a connected
 * stream it inherited).  Frames are written as binary PPM (P6).  In TEXT,
 * "\n" is Return.  Exit status 0, or 1 with the reason on stderr.
 */
#include <rfb/rfbclient.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define MAX_ACTIONS 64

static int watching;
static long updates, frames;
static long long covered; /* pixels received before watching */

static void
on_update(rfbClient *cl, int x, int y, int w, int h)
{
	(void)cl;
	if (watching)
		printf("rect %d %d %d %d\n", x, y, w, h);
	else
		covered += (long long)w * h;
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
	    {NULL, 0, NULL, 0},
	};
	struct {
		int kind; /* 't', 'k', 'p' */
		const char *arg;
	} act[MAX_ACTIONS];
	int nact = 0, c;
	const char *out = NULL, *final = NULL, *enc = NULL;
	long watch = 0;

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
	const char *target = argv[optind];
	rfbClient *cl = rfbGetClient(8, 3, 4);
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
	watching = 1;
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
	rfbClientCleanup(cl);
	return 0;
}
