#include "shot.h"

#include "errmsg.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

struct sink {
	int fd;
	int error; /* errno of a failed write, 0 */
};

static void
sink_write(png_structp png, png_bytep data, size_t len)
{
	struct sink *s = png_get_io_ptr(png);

	while (len > 0) {
		ssize_t n = write(s->fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->error = n < 0 ? errno : EIO;
			png_error(png, "write");
		}
		data += n;
		len -= (size_t)n;
	}
}

static void
sink_flush(png_structp png)
{
	(void)png; /* write() keeps nothing back */
}

/* libpng reports errors by longjmp; everything it touches is set up before
 * setjmp, so nothing is left half-freed. */
int
shot_write_fd(const struct display *d, int fd, char *err, size_t errlen)
{
	struct sink sink = {fd, 0};
	png_structp png =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
	int r = -1;

	if (png == NULL || info == NULL) {
		errmsg(err, errlen, "screenshot: out of memory");
		goto out;
	}
	if (setjmp(png_jmpbuf(png))) {
		errmsg(err, errlen, "screenshot: %s",
		       sink.error ? strerror(sink.error) : "libpng failed");
		goto out;
	}
	png_set_write_fn(png, &sink, sink_write, sink_flush);
	png_set_compression_level(png, Z_BEST_SPEED);
	png_set_IHDR(png, info, d->width, d->height, 8, PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	/* Rows straight from the framebuffer: bytes B, G, R, X per pixel. */
	png_set_bgr(png);
	png_set_filler(png, 0, PNG_FILLER_AFTER);
	for (uint32_t y = 0; y < d->height; y++)
		png_write_row(png, d->fb + (size_t)y * d->stride);
	png_write_end(png, NULL);
	r = 0;
out:
	png_destroy_write_struct(&png, &info);
	return r;
}
