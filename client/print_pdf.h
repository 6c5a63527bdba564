/*
 * print_pdf: a printable HTML file as a PDF, printed by Chromium's
 * headless print-to-PDF ("nwd sar --release --pdf FILE").  Chromium is
 * $NWD_CHROMIUM if set, else the first of chromium, chromium-browser and
 * google-chrome on PATH (Debian: apt-get install chromium).  It runs with
 * a throwaway profile in a temporary directory, removed afterwards, and
 * loads nothing but the file (the release page holds no external
 * resource).
 */
#ifndef NWD_PRINT_PDF_H
#define NWD_PRINT_PDF_H

#include <stddef.h>

/*
 * The Chromium to print with, into buf; NULL (and the reason, naming the
 * package, in err) if there is none.
 */
const char	*print_pdf_chromium(char *buf, size_t buflen, char *err,
		    size_t errlen);

/*
 * Prints html (a file's path) to pdf with chromium.  Returns 0 once pdf
 * exists and is not empty, or -1 with the cause in err.
 */
int		 print_pdf(const char *chromium, const char *html,
		    const char *pdf, char *err, size_t errlen);

#endif
