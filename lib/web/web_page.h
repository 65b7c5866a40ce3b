/*
 * The status page (lib/web/status_page.html), compiled in: the Makefile
 * turns the file into a C array ($(BUILD)/gen/web_page.c) so the binary
 * serves exactly the page in the repository, with no file to install.
 */
#ifndef CT_WEB_PAGE_H
#define CT_WEB_PAGE_H

#include <stddef.h>

extern const unsigned char web_page_html[];
extern const size_t web_page_html_len;

#endif
