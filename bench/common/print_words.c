/*
 * print_words - every option word of mmf_cli.h as the C compiler sees it,
 * one "TABLE word" line each (TABLE without the MMF_CLI_ prefix), for
 * unit.options_py: scripts/mmfresults/options.py must read the same words.
 */
#include "mmf_cli.h"

#include <stdio.h>

#define PRINT(table) \
	static void print_##table(void) { MMF_CLI_##table(LINE_##table) }
#define LINE_GROWTH(w, v, d) puts("GROWTH " #w);
#define LINE_FLAGS(w, v, d) puts("FLAGS " #w);
#define LINE_FLAG_WORDS(w, v, d) puts("FLAG_WORDS " #w);
#define LINE_OPTION_SETS(w, v, d) puts("OPTION_SETS " #w);
#define LINE_APPEND_APIS(w, v, d) puts("APPEND_APIS " #w);
#define LINE_PROFILES(w, v, d) puts("PROFILES " #w);
PRINT(GROWTH)
PRINT(FLAGS)
PRINT(FLAG_WORDS)
PRINT(OPTION_SETS)
PRINT(APPEND_APIS)
PRINT(PROFILES)

int main(void)
{
	print_GROWTH();
	print_FLAGS();
	print_FLAG_WORDS();
	print_OPTION_SETS();
	print_APPEND_APIS();
	print_PROFILES();
	return 0;
}
