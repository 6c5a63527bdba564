/*
 * policy_lex: the tokens of the policy language.  Words, quoted strings,
 * commas, colons, the end of a statement and the end of the file, with
 * comments and continuation lines taken out; every error message begins
 * "NAME:LINE:COL: " for the token it is about.  The contracts are in
 * policy_int.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_int.h"

void
policy_lex_init(struct lexer *lx, const char *name, const char *text,
    size_t len, char *err, size_t errlen)
{
	memset(lx, 0, sizeof(*lx));
	lx->name = name;
	lx->p = text;
	lx->end = text + len;
	lx->line = lx->col = 1;
	lx->err = err;
	lx->errlen = errlen;
}

int
policy_lex_fail(struct lexer *lx, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(lx->err, lx->errlen, "%s:%d:%d: ", lx->name, lx->tline,
	    lx->tcol);
	if (n < 0 || (size_t)n >= lx->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(lx->err + n, lx->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static void
advance(struct lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else
		lx->col++;
	lx->p++;
}

static int
word_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '*' ||
	    c == '/';
}

/*
 * Reads the next token.  A line that begins with white space continues the
 * statement above it, so newlines are only reported before a line that
 * starts in column 1.
 */
int
policy_lex_next(struct lexer *lx)
{
	size_t n = 0;
	int c;

	for (;;) {
		if (lx->p >= lx->end) {
			lx->type = T_EOF;
			lx->tline = lx->line;
			lx->tcol = lx->col;
			strcpy(lx->text, "end of file");
			return 0;
		}
		c = (unsigned char)*lx->p;
		if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				advance(lx);
			continue;
		}
		if (c == '\n') {
			advance(lx);
			if (lx->p < lx->end && *lx->p != ' ' &&
			    *lx->p != '\t' && *lx->p != '\n' &&
			    *lx->p != '\r' && *lx->p != '#') {
				lx->type = T_NEWLINE;
				lx->tline = lx->line;
				lx->tcol = 1;
				strcpy(lx->text, "end of line");
				return 0;
			}
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			advance(lx);
			continue;
		}
		break;
	}
	lx->tline = lx->line;
	lx->tcol = lx->col;
	lx->at_line_start = lx->col == 1;
	if (c == ',' || c == ':') {
		lx->type = c == ',' ? T_COMMA : T_COLON;
		lx->text[0] = c;
		lx->text[1] = '\0';
		advance(lx);
		return 0;
	}
	if (c == '"') {
		advance(lx);
		while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n') {
			if (n == POLICY_MAX_WORD)
				return policy_lex_fail(lx, "string longer "
				    "than %d bytes", POLICY_MAX_WORD);
			if (!isprint((unsigned char)*lx->p))
				return policy_lex_fail(lx, "control "
				    "character in string");
			lx->text[n++] = *lx->p;
			advance(lx);
		}
		if (lx->p >= lx->end || *lx->p != '"')
			return policy_lex_fail(lx,
			    "string is not closed with \"");
		advance(lx);
		lx->text[n] = '\0';
		lx->type = T_STRING;
		return 0;
	}
	if (!word_char(c)) {
		if (isprint(c))
			return policy_lex_fail(lx, "unexpected character "
			    "'%c'", c);
		return policy_lex_fail(lx, "unexpected byte 0x%02x", c);
	}
	/* A colon inside a word ("hub:norwich") is part of it. */
	while (lx->p < lx->end && (word_char((unsigned char)*lx->p) ||
	    (*lx->p == ':' && n > 0 && lx->p + 1 < lx->end &&
	    word_char((unsigned char)lx->p[1])))) {
		if (n == POLICY_MAX_WORD)
			return policy_lex_fail(lx, "word longer than %d bytes",
			    POLICY_MAX_WORD);
		lx->text[n++] = *lx->p;
		advance(lx);
	}
	lx->text[n] = '\0';
	lx->type = T_WORD;
	return 0;
}

const char *
policy_lex_desc(const struct lexer *lx)
{
	static char buf[POLICY_MAX_WORD + 16];

	if (lx->type == T_WORD || lx->type == T_STRING)
		snprintf(buf, sizeof(buf), "\"%s\"", lx->text);
	else if (lx->type == T_COMMA || lx->type == T_COLON)
		snprintf(buf, sizeof(buf), "'%s'", lx->text);
	else
		snprintf(buf, sizeof(buf), "%s", lx->text);
	return buf;
}
