/* escape: see escape.h. */
#include "escape.h"

size_t
escape_feed(struct escape *e, const uint8_t *in, size_t n, uint8_t *out,
	    size_t *outn, enum escape_action *act)
{
	size_t i, o = 0;

	*act = ESCAPE_NONE;
	for (i = 0; i < n; i++) {
		uint8_t c = in[i];
		if (!e->pending) {
			if (c == ESCAPE_CHAR)
				e->pending = true;
			else
				out[o++] = c;
			continue;
		}
		e->pending = false;
		switch (c) {
		case ESCAPE_CHAR:
			out[o++] = c;
			continue;
		case '.':
			*act = ESCAPE_DETACH;
			break;
		case 'b':
			*act = ESCAPE_BREAK;
			break;
		case 'r':
			*act = ESCAPE_RESET;
			break;
		case 'w':
			*act = ESCAPE_WHO;
			break;
		case '?':
			*act = ESCAPE_HELP;
			break;
		default:
			*act = ESCAPE_UNKNOWN;
			break;
		}
		i++;
		break;
	}
	*outn = o;
	return i;
}

const char *
escape_help(void)
{
	return "[vmgate: escape keys: Ctrl-] then:]\r\n"
	       "[  .  detach            b  send break]\r\n"
	       "[  r  reset the VM      w  who is attached]\r\n"
	       "[  ?  this help         Ctrl-]  send Ctrl-] to the guest]\r\n";
}
