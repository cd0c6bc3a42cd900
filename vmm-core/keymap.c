#include "keymap.h"

#include <stddef.h>

/*
 * Set-2 make codes of the US keyboard, from the published PC/AT (set 2)
 * scancode tables (IBM's Keyboard Technical Reference; the "Keyboard
 * scancodes" notes by A. Brouwer list the same).
 */
enum {
	K_ESC = 0x76,
	K_F1 = 0x05,
	K_F2 = 0x06,
	K_F3 = 0x04,
	K_F4 = 0x0c,
	K_F5 = 0x03,
	K_F6 = 0x0b,
	K_F7 = 0x83,
	K_F8 = 0x0a,
	K_F9 = 0x01,
	K_F10 = 0x09,
	K_F11 = 0x78,
	K_F12 = 0x07,
	K_GRAVE = 0x0e,
	K_1 = 0x16,
	K_2 = 0x1e,
	K_3 = 0x26,
	K_4 = 0x25,
	K_5 = 0x2e,
	K_6 = 0x36,
	K_7 = 0x3d,
	K_8 = 0x3e,
	K_9 = 0x46,
	K_0 = 0x45,
	K_MINUS = 0x4e,
	K_EQUAL = 0x55,
	K_BACKSPACE = 0x66,
	K_TAB = 0x0d,
	K_Q = 0x15,
	K_W = 0x1d,
	K_E = 0x24,
	K_R = 0x2d,
	K_T = 0x2c,
	K_Y = 0x35,
	K_U = 0x3c,
	K_I = 0x43,
	K_O = 0x44,
	K_P = 0x4d,
	K_LBRACKET = 0x54,
	K_RBRACKET = 0x5b,
	K_BACKSLASH = 0x5d,
	K_CAPS = 0x58,
	K_A = 0x1c,
	K_S = 0x1b,
	K_D = 0x23,
	K_F = 0x2b,
	K_G = 0x34,
	K_H = 0x33,
	K_J = 0x3b,
	K_K = 0x42,
	K_L = 0x4b,
	K_SEMICOLON = 0x4c,
	K_APOSTROPHE = 0x52,
	K_ENTER = 0x5a,
	K_LSHIFT = KEYMAP_LSHIFT,
	K_Z = 0x1a,
	K_X = 0x22,
	K_C = 0x21,
	K_V = 0x2a,
	K_B = 0x32,
	K_N = 0x31,
	K_M = 0x3a,
	K_COMMA = 0x41,
	K_DOT = 0x49,
	K_SLASH = 0x4a,
	K_RSHIFT = KEYMAP_RSHIFT,
	K_LCTRL = 0x14,
	K_LALT = 0x11,
	K_SPACE = 0x29,
	K_NUMLOCK = 0x77,
	K_SCROLL = 0x7e,
	K_KP0 = 0x70,
	K_KP1 = 0x69,
	K_KP2 = 0x72,
	K_KP3 = 0x7a,
	K_KP4 = 0x6b,
	K_KP5 = 0x73,
	K_KP6 = 0x74,
	K_KP7 = 0x6c,
	K_KP8 = 0x75,
	K_KP9 = 0x7d,
	K_KPDOT = 0x71,
	K_KPPLUS = 0x79,
	K_KPMINUS = 0x7b,
	K_KPSTAR = 0x7c,
	/* after 0xe0 */
	E_RCTRL = 0x14,
	E_RALT = 0x11,
	E_LGUI = 0x1f,
	E_RGUI = 0x27,
	E_MENU = 0x2f,
	E_KPSLASH = 0x4a,
	E_KPENTER = 0x5a,
	E_INSERT = 0x70,
	E_DELETE = 0x71,
	E_HOME = 0x6c,
	E_END = 0x69,
	E_PGUP = 0x7d,
	E_PGDN = 0x7a,
	E_LEFT = 0x6b,
	E_RIGHT = 0x74,
	E_UP = 0x75,
	E_DOWN = 0x72,
};

#define N KEYMAP_NOSHIFT
#define S KEYMAP_SHIFT

/* Printable Latin-1, keysym 0x20 to 0x7e (the keysym is the character). */
static const struct keymap_key latin[0x7f - 0x20] = {
    [' ' - 0x20] = {K_SPACE, 0},      ['!' - 0x20] = {K_1, S},
    ['"' - 0x20] = {K_APOSTROPHE, S}, ['#' - 0x20] = {K_3, S},
    ['$' - 0x20] = {K_4, S},	      ['%' - 0x20] = {K_5, S},
    ['&' - 0x20] = {K_7, S},	      ['\'' - 0x20] = {K_APOSTROPHE, N},
    ['(' - 0x20] = {K_9, S},	      [')' - 0x20] = {K_0, S},
    ['*' - 0x20] = {K_8, S},	      ['+' - 0x20] = {K_EQUAL, S},
    [',' - 0x20] = {K_COMMA, N},      ['-' - 0x20] = {K_MINUS, N},
    ['.' - 0x20] = {K_DOT, N},	      ['/' - 0x20] = {K_SLASH, N},
    ['0' - 0x20] = {K_0, N},	      ['1' - 0x20] = {K_1, N},
    ['2' - 0x20] = {K_2, N},	      ['3' - 0x20] = {K_3, N},
    ['4' - 0x20] = {K_4, N},	      ['5' - 0x20] = {K_5, N},
    ['6' - 0x20] = {K_6, N},	      ['7' - 0x20] = {K_7, N},
    ['8' - 0x20] = {K_8, N},	      ['9' - 0x20] = {K_9, N},
    [':' - 0x20] = {K_SEMICOLON, S},  [';' - 0x20] = {K_SEMICOLON, N},
    ['<' - 0x20] = {K_COMMA, S},      ['=' - 0x20] = {K_EQUAL, N},
    ['>' - 0x20] = {K_DOT, S},	      ['?' - 0x20] = {K_SLASH, S},
    ['@' - 0x20] = {K_2, S},	      ['A' - 0x20] = {K_A, S},
    ['B' - 0x20] = {K_B, S},	      ['C' - 0x20] = {K_C, S},
    ['D' - 0x20] = {K_D, S},	      ['E' - 0x20] = {K_E, S},
    ['F' - 0x20] = {K_F, S},	      ['G' - 0x20] = {K_G, S},
    ['H' - 0x20] = {K_H, S},	      ['I' - 0x20] = {K_I, S},
    ['J' - 0x20] = {K_J, S},	      ['K' - 0x20] = {K_K, S},
    ['L' - 0x20] = {K_L, S},	      ['M' - 0x20] = {K_M, S},
    ['N' - 0x20] = {K_N, S},	      ['O' - 0x20] = {K_O, S},
    ['P' - 0x20] = {K_P, S},	      ['Q' - 0x20] = {K_Q, S},
    ['R' - 0x20] = {K_R, S},	      ['S' - 0x20] = {K_S, S},
    ['T' - 0x20] = {K_T, S},	      ['U' - 0x20] = {K_U, S},
    ['V' - 0x20] = {K_V, S},	      ['W' - 0x20] = {K_W, S},
    ['X' - 0x20] = {K_X, S},	      ['Y' - 0x20] = {K_Y, S},
    ['Z' - 0x20] = {K_Z, S},	      ['[' - 0x20] = {K_LBRACKET, N},
    ['\\' - 0x20] = {K_BACKSLASH, N}, [']' - 0x20] = {K_RBRACKET, N},
    ['^' - 0x20] = {K_6, S},	      ['_' - 0x20] = {K_MINUS, S},
    ['`' - 0x20] = {K_GRAVE, N},      ['a' - 0x20] = {K_A, N},
    ['b' - 0x20] = {K_B, N},	      ['c' - 0x20] = {K_C, N},
    ['d' - 0x20] = {K_D, N},	      ['e' - 0x20] = {K_E, N},
    ['f' - 0x20] = {K_F, N},	      ['g' - 0x20] = {K_G, N},
    ['h' - 0x20] = {K_H, N},	      ['i' - 0x20] = {K_I, N},
    ['j' - 0x20] = {K_J, N},	      ['k' - 0x20] = {K_K, N},
    ['l' - 0x20] = {K_L, N},	      ['m' - 0x20] = {K_M, N},
    ['n' - 0x20] = {K_N, N},	      ['o' - 0x20] = {K_O, N},
    ['p' - 0x20] = {K_P, N},	      ['q' - 0x20] = {K_Q, N},
    ['r' - 0x20] = {K_R, N},	      ['s' - 0x20] = {K_S, N},
    ['t' - 0x20] = {K_T, N},	      ['u' - 0x20] = {K_U, N},
    ['v' - 0x20] = {K_V, N},	      ['w' - 0x20] = {K_W, N},
    ['x' - 0x20] = {K_X, N},	      ['y' - 0x20] = {K_Y, N},
    ['z' - 0x20] = {K_Z, N},	      ['{' - 0x20] = {K_LBRACKET, S},
    ['|' - 0x20] = {K_BACKSLASH, S},  ['}' - 0x20] = {K_RBRACKET, S},
    ['~' - 0x20] = {K_GRAVE, S},
};

#undef N
#undef S

/* Function keysyms (X11's keysymdef.h values), sorted for bsearch. */
static const struct special {
	uint16_t keysym;
	struct keymap_key key;
} special[] = {
    {0xfe03, {E_RALT, KEYMAP_E0}},    /* ISO_Level3_Shift (AltGr) */
    {0xfe20, {K_TAB, KEYMAP_SHIFT}},  /* ISO_Left_Tab: Shift+Tab */
    {0xff08, {K_BACKSPACE, 0}},	      /* BackSpace */
    {0xff09, {K_TAB, 0}},	      /* Tab */
    {0xff0d, {K_ENTER, 0}},	      /* Return */
    {0xff14, {K_SCROLL, 0}},	      /* Scroll_Lock */
    {0xff1b, {K_ESC, 0}},	      /* Escape */
    {0xff50, {E_HOME, KEYMAP_E0}},    /* Home */
    {0xff51, {E_LEFT, KEYMAP_E0}},    /* Left */
    {0xff52, {E_UP, KEYMAP_E0}},      /* Up */
    {0xff53, {E_RIGHT, KEYMAP_E0}},   /* Right */
    {0xff54, {E_DOWN, KEYMAP_E0}},    /* Down */
    {0xff55, {E_PGUP, KEYMAP_E0}},    /* Prior (Page Up) */
    {0xff56, {E_PGDN, KEYMAP_E0}},    /* Next (Page Down) */
    {0xff57, {E_END, KEYMAP_E0}},     /* End */
    {0xff63, {E_INSERT, KEYMAP_E0}},  /* Insert */
    {0xff67, {E_MENU, KEYMAP_E0}},    /* Menu */
    {0xff7f, {K_NUMLOCK, 0}},	      /* Num_Lock */
    {0xff8d, {E_KPENTER, KEYMAP_E0}}, /* KP_Enter */
    {0xff95, {K_KP7, 0}},	      /* KP_Home */
    {0xff96, {K_KP4, 0}},	      /* KP_Left */
    {0xff97, {K_KP8, 0}},	      /* KP_Up */
    {0xff98, {K_KP6, 0}},	      /* KP_Right */
    {0xff99, {K_KP2, 0}},	      /* KP_Down */
    {0xff9a, {K_KP9, 0}},	      /* KP_Prior */
    {0xff9b, {K_KP3, 0}},	      /* KP_Next */
    {0xff9c, {K_KP1, 0}},	      /* KP_End */
    {0xff9d, {K_KP5, 0}},	      /* KP_Begin */
    {0xff9e, {K_KP0, 0}},	      /* KP_Insert */
    {0xff9f, {K_KPDOT, 0}},	      /* KP_Delete */
    {0xffaa, {K_KPSTAR, 0}},	      /* KP_Multiply */
    {0xffab, {K_KPPLUS, 0}},	      /* KP_Add */
    {0xffad, {K_KPMINUS, 0}},	      /* KP_Subtract */
    {0xffae, {K_KPDOT, 0}},	      /* KP_Decimal */
    {0xffaf, {E_KPSLASH, KEYMAP_E0}}, /* KP_Divide */
    {0xffb0, {K_KP0, 0}},	      /* KP_0 */
    {0xffb1, {K_KP1, 0}},	      /* KP_1 */
    {0xffb2, {K_KP2, 0}},	      /* KP_2 */
    {0xffb3, {K_KP3, 0}},	      /* KP_3 */
    {0xffb4, {K_KP4, 0}},	      /* KP_4 */
    {0xffb5, {K_KP5, 0}},	      /* KP_5 */
    {0xffb6, {K_KP6, 0}},	      /* KP_6 */
    {0xffb7, {K_KP7, 0}},	      /* KP_7 */
    {0xffb8, {K_KP8, 0}},	      /* KP_8 */
    {0xffb9, {K_KP9, 0}},	      /* KP_9 */
    {0xffbe, {K_F1, 0}},	      /* F1 */
    {0xffbf, {K_F2, 0}},	      /* F2 */
    {0xffc0, {K_F3, 0}},	      /* F3 */
    {0xffc1, {K_F4, 0}},	      /* F4 */
    {0xffc2, {K_F5, 0}},	      /* F5 */
    {0xffc3, {K_F6, 0}},	      /* F6 */
    {0xffc4, {K_F7, 0}},	      /* F7 */
    {0xffc5, {K_F8, 0}},	      /* F8 */
    {0xffc6, {K_F9, 0}},	      /* F9 */
    {0xffc7, {K_F10, 0}},	      /* F10 */
    {0xffc8, {K_F11, 0}},	      /* F11 */
    {0xffc9, {K_F12, 0}},	      /* F12 */
    {0xffe1, {K_LSHIFT, 0}},	      /* Shift_L */
    {0xffe2, {K_RSHIFT, 0}},	      /* Shift_R */
    {0xffe3, {K_LCTRL, 0}},	      /* Control_L */
    {0xffe4, {E_RCTRL, KEYMAP_E0}},   /* Control_R */
    {0xffe5, {K_CAPS, 0}},	      /* Caps_Lock */
    {0xffe7, {K_LALT, 0}},	      /* Meta_L: viewers send it for Alt */
    {0xffe8, {E_RALT, KEYMAP_E0}},    /* Meta_R */
    {0xffe9, {K_LALT, 0}},	      /* Alt_L */
    {0xffea, {E_RALT, KEYMAP_E0}},    /* Alt_R */
    {0xffeb, {E_LGUI, KEYMAP_E0}},    /* Super_L */
    {0xffec, {E_RGUI, KEYMAP_E0}},    /* Super_R */
    {0xffff, {E_DELETE, KEYMAP_E0}},  /* Delete */
};

bool
keymap_lookup(uint32_t keysym, struct keymap_key *key)
{
	if (keysym >= 0x20 && keysym < 0x7f) {
		*key = latin[keysym - 0x20];
		return true;
	}
	size_t lo = 0, hi = sizeof(special) / sizeof(special[0]);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (special[mid].keysym == keysym) {
			*key = special[mid].key;
			return true;
		}
		if (special[mid].keysym < keysym)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}
