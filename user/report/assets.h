/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * What the report writes beside its data, built into greywalld: the page
 * template (user/report/page.html) and the charting library, uPlot, as
 * the Makefile takes it from its npm package (version and SHA-512 pinned
 * there). The Makefile generates their bytes into .output/report_assets.h.
 */
#ifndef __GREYWALL_REPORT_ASSETS_H
#define __GREYWALL_REPORT_ASSETS_H

#include <stddef.h>

/* The template's place for the JSON, inside <script type="application/json">. */
#define REPORT_PAGE_DATA_MARK "@REPORT_DATA@"

extern const unsigned char report_page[];
extern const size_t report_page_len;
extern const unsigned char report_library_js[];
extern const size_t report_library_js_len;
extern const unsigned char report_library_css[];
extern const size_t report_library_css_len;
extern const unsigned char report_library_license[];
extern const size_t report_library_license_len;

#endif /* __GREYWALL_REPORT_ASSETS_H */
