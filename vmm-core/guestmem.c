#include "guestmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int
guestmem_create(struct guestmem *gm, uint64_t size)
{
	int r;

	gm->fd = -1;
	gm->host = NULL;
	gm->size = size;
	gm->low_end = size < GUESTMEM_HOLE_START ? size : GUESTMEM_HOLE_START;

	if ((gm->fd = memfd_create("vmgate-ram", MFD_CLOEXEC)) < 0) {
		r = -errno;
		goto out;
	}
	if (ftruncate(gm->fd, (off_t)size) != 0) {
		r = -errno;
		goto out;
	}
	gm->host = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_NORESERVE, gm->fd, 0);
	if (gm->host == MAP_FAILED) {
		gm->host = NULL;
		r = -errno;
		goto out;
	}
	/* Guest RAM never belongs in a core dump of the monitor. */
	madvise(gm->host, size, MADV_DONTDUMP);
	r = 0;
out:
	if (r != 0)
		guestmem_destroy(gm);
	return r;
}

void
guestmem_destroy(struct guestmem *gm)
{
	if (gm->host != NULL)
		munmap(gm->host, gm->size);
	if (gm->fd >= 0)
		close(gm->fd);
	gm->host = NULL;
	gm->fd = -1;
}

void *
guestmem_ptr(const struct guestmem *gm, uint64_t gpa, uint64_t len)
{
	if (gpa < gm->low_end) {
		if (len > gm->low_end - gpa)
			return NULL;
		return gm->host + gpa;
	}
	uint64_t high_size = gm->size - gm->low_end;
	if (gpa < GUESTMEM_HIGH_START ||
	    gpa - GUESTMEM_HIGH_START > high_size ||
	    len > high_size - (gpa - GUESTMEM_HIGH_START))
		return NULL;
	return gm->host + gm->low_end + (gpa - GUESTMEM_HIGH_START);
}

int
guestmem_clear(struct guestmem *gm)
{
	/* Punching the whole file frees the pages and reads back as zeros. */
	if (fallocate(gm->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)gm->size) != 0)
		return -errno;
	return 0;
}

int
guestmem_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0' &&
	    !(end[1] == 'i' && end[2] == 'B' && end[3] == '\0') &&
	    !(end[1] == 'B' && end[2] == '\0'))
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}
