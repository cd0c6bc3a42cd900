#include "shot.h"

#include "errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* libpng reports errors by longjmp; everything it touches is set up before
 * setjmp, so nothing is left half-freed. */
static int
write_png(const struct display *d, FILE *f, char *err, size_t errlen)
{
	png_structp png =
	    png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
	int r = -1;

	if (png == NULL || info == NULL) {
		errmsg(err, errlen, "screenshot: out of memory");
		goto out;
	}
	if (setjmp(png_jmpbuf(png))) {
		errmsg(err, errlen, "screenshot: libpng failed (%s)",
		       ferror(f) ? strerror(errno) : "encoding");
		goto out;
	}
	png_init_io(png, f);
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
	if (fflush(f) != 0) {
		errmsg(err, errlen, "screenshot: %s", strerror(errno));
		goto out;
	}
	r = 0;
out:
	png_destroy_write_struct(&png, &info);
	return r;
}

int
shot_write_fd(const struct display *d, int fd, char *err, size_t errlen)
{
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	FILE *f = dupfd >= 0 ? fdopen(dupfd, "wb") : NULL;
	int r;

	if (f == NULL) {
		if (dupfd >= 0)
			close(dupfd);
		return errmsg(err, errlen, "screenshot: %s", strerror(errno));
	}
	r = write_png(d, f, err, errlen);
	if (fclose(f) != 0 && r == 0)
		r = errmsg(err, errlen, "screenshot: %s", strerror(errno));
	return r;
}

int
shot_write_file(const struct display *d, const char *path, char *err,
		size_t errlen)
{
	char tmp[4096];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return errmsg(err, errlen, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return errmsg(err, errlen, "%s: %s", tmp, strerror(errno));
	r = shot_write_fd(d, fd, err, errlen);
	if (fsync(fd) != 0 && r == 0)
		r = errmsg(err, errlen, "%s: %s", tmp, strerror(errno));
	close(fd);
	if (r == 0 && rename(tmp, path) != 0)
		r = errmsg(err, errlen, "%s: %s", path, strerror(errno));
	if (r != 0)
		unlink(tmp);
	return r;
}
