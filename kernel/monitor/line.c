/*
 * Monitor line editor: turns the serial byte stream into lines, with echo,
 * backspace, Ctrl-U, Ctrl-C and a small history on Up/Down.
 *
 * In JSON mode (le->quiet) it echoes nothing: a program on the other end
 * reads only replies.
 *
 * Everything here is bounded by the fixed-size struct: a hostile or broken
 * terminal can send any byte stream without growing state, and whatever it
 * sends, the next clean line is accepted.
 */
#include <lamina/monitor.h>
#include <lamina/lib.h>

#define KEY_CTRL_C 0x03
#define KEY_BS 0x08
#define KEY_CTRL_U 0x15
#define KEY_ESC 0x1b
#define KEY_DEL 0x7f

/* Escape parser states (le->esc). */
enum {
	ESC_NONE,
	ESC_START,     /* got ESC */
	ESC_CSI,       /* got ESC [ */
	ESC_CSI_PARAM, /* got ESC [ and parameter or intermediate bytes */
	ESC_SS3,       /* got ESC O */
};

static const char erase_seq[] = "\b \b";

static void echo(struct line_editor *le, const char *s, size_t n)
{
	if (le->echo && n && !le->quiet)
		le->echo(le->echo_ctx, s, n);
}

static void echo_str(struct line_editor *le, const char *s)
{
	echo(le, s, strlen(s));
}

void le_init(struct line_editor *le, mon_out_fn echo_fn, void *echo_ctx)
{
	memset(le, 0, sizeof(*le));
	le->hist_pos = -1;
	le->echo = echo_fn;
	le->echo_ctx = echo_ctx;
}

/*
 * Wipe the characters shown on the terminal, leaving the cursor where the
 * line started. The editor does not know the prompt, so it backs up over
 * its own characters only.
 */
static void erase_shown(struct line_editor *le)
{
	unsigned int i;

	for (i = 0; i < le->len; i++)
		echo(le, erase_seq, sizeof(erase_seq) - 1);
	le->len = 0;
	le->overflow = false;
	le->garbage = 0;
}

static void reset_line(struct line_editor *le)
{
	le->len = 0;
	le->overflow = false;
	le->garbage = 0;
	le->esc = ESC_NONE;
	le->hist_pos = -1;
}

/* Entry @back steps before the newest one (0 = newest). */
static const char *history_entry(const struct line_editor *le,
				 unsigned int back)
{
	unsigned int slot = (le->hist_next + MON_HISTORY - 1 - back) %
			    MON_HISTORY;

	return le->history[slot];
}

static void history_add(struct line_editor *le, const char *line)
{
	if (le->hist_count && !strcmp(history_entry(le, 0), line))
		return;
	/* Lines reaching here are shorter than MON_LINE_MAX by construction. */
	memcpy(le->history[le->hist_next], line, strlen(line) + 1);
	le->hist_next = (le->hist_next + 1) % MON_HISTORY;
	if (le->hist_count < MON_HISTORY)
		le->hist_count++;
}

/* Replace the shown line with history entry @pos, or an empty line for -1. */
static void history_show(struct line_editor *le, int pos)
{
	erase_shown(le);
	le->hist_pos = pos;
	if (pos < 0)
		return;
	le->len = strlen(history_entry(le, pos));
	memcpy(le->buf, history_entry(le, pos), le->len);
	echo(le, le->buf, le->len);
}

static void history_step(struct line_editor *le, bool older)
{
	if (older && le->hist_pos + 1 < (int)le->hist_count)
		history_show(le, le->hist_pos + 1);
	else if (!older && le->hist_pos >= 0)
		history_show(le, le->hist_pos - 1);
}

static enum le_result end_line(struct line_editor *le)
{
	enum le_result ret = LE_LINE;

	echo_str(le, "\r\n");
	le->line[0] = '\0';
	if (le->overflow) {
		snprintf(le->error, sizeof(le->error),
			 "line too long (max %d characters)", MON_LINE_MAX - 1);
		ret = LE_LINE_ERROR;
	} else if (le->garbage) {
		snprintf(le->error, sizeof(le->error),
			 "line had %u non-printable bytes", le->garbage);
		ret = LE_LINE_ERROR;
	} else {
		memcpy(le->line, le->buf, le->len);
		le->line[le->len] = '\0';
		if (le->len)
			history_add(le, le->line);
	}
	reset_line(le);
	return ret;
}

static void backspace(struct line_editor *le)
{
	if (!le->len)
		return;
	le->len--;
	echo(le, erase_seq, sizeof(erase_seq) - 1);
}

/*
 * Anything that is not printable ASCII is only counted, so the line can be
 * rejected at its end instead of running with bytes the user never saw.
 */
static void insert(struct line_editor *le, u8 byte)
{
	char c = (char)byte;

	if (byte < 0x20 || byte > 0x7e) {
		if (le->garbage < ~0u)
			le->garbage++;
		return;
	}
	if (le->len >= MON_LINE_MAX - 1) {
		le->overflow = true;
		return;
	}
	le->buf[le->len++] = c;
	echo(le, &c, 1);
}

/*
 * Final byte of a sequence. Only plain ESC [ A/B and ESC O A/B mean
 * anything; sequences with parameters (Ctrl-Up and friends) are ignored.
 */
static void escape_final(struct line_editor *le, unsigned int state, u8 byte)
{
	if (state != ESC_CSI && state != ESC_SS3)
		return;
	if (byte == 'A')
		history_step(le, true);
	else if (byte == 'B')
		history_step(le, false);
}

/*
 * Advance the escape parser. Returns false when @byte is not part of a
 * sequence (a control byte or non-ASCII): the sequence is dropped and the
 * byte handled normally, so a stray ESC cannot swallow Enter or Ctrl-C.
 * Parameters are not stored, so no input can grow the state.
 */
static bool feed_escape(struct line_editor *le, u8 byte)
{
	unsigned int state = le->esc;

	le->esc = ESC_NONE;
	if (byte < 0x20 || byte > 0x7e)
		return false;
	if (state == ESC_START && byte == '[')
		le->esc = ESC_CSI;
	else if (state == ESC_START && byte == 'O')
		le->esc = ESC_SS3;
	else if ((state == ESC_CSI || state == ESC_CSI_PARAM) && byte < 0x40)
		le->esc = ESC_CSI_PARAM;
	else
		escape_final(le, state, byte);
	return true;
}

enum le_result le_feed(struct line_editor *le, u8 byte)
{
	bool after_cr = le->last_cr;

	le->last_cr = false;
	if (le->esc != ESC_NONE && feed_escape(le, byte))
		return LE_CONTINUE;

	switch (byte) {
	case '\n':
		/* The LF of a CR LF pair: the line already ended at the CR. */
		if (after_cr)
			return LE_CONTINUE;
		return end_line(le);
	case '\r':
		le->last_cr = true;
		return end_line(le);
	case KEY_CTRL_C:
		echo_str(le, "^C\r\n");
		reset_line(le);
		le->line[0] = '\0';
		return LE_LINE;
	case KEY_BS:
	case KEY_DEL:
		backspace(le);
		break;
	case KEY_CTRL_U:
		erase_shown(le);
		break;
	case KEY_ESC:
		le->esc = ESC_START;
		break;
	default:
		insert(le, byte);
		break;
	}
	return LE_CONTINUE;
}
