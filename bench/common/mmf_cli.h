/*
 * mmf_cli.h - the option words of the harness and the one command-line
 * parser of its C programs (the crash writer and verifier, loadgen,
 * fault_soak, the fuzz target; the benchmark fixture uses the word tables).
 *
 * The word tables below are the ONE spelling of every value an option of
 * the harness takes: growth policies, flags, option sets, profiles. They are
 * snake_case. scripts/mmfresults/options.py reads this file (a regex over
 * the X(...) lines of each `#define MMF_CLI_<TABLE>(X)` block), so Python
 * and C cannot drift: a word added here exists in both.
 *
 * Calling sequence of a program:
 *
 *	struct mmf_cli_opt opts[] = {
 *		MMF_CLI_U64("sync-every", &c.sync_every, 1, 1000000,
 *			    "K", "sync every K records (default 8)"),
 *		MMF_CLI_GROWTH_OPT("grow", &c.opt.grow, "growth policy"),
 *		...
 *	};
 *	struct mmf_cli cli = { .prog = "mmf_crash_writer", .synopsis = "DIR [options]",
 *			       .about = "...", .opts = opts,
 *			       .nopts = sizeof(opts) / sizeof(opts[0]),
 *			       .min_pos = 1, .max_pos = 1, .pos = pos };
 *	int rc = mmf_cli_parse(&cli, argc, argv);
 *	if (rc != MMF_CLI_OK)
 *		return mmf_cli_exit(rc);	// 0 after --help, 2 after a usage error
 *
 * Conventions every program gets from mmf_cli_parse:
 *   - `--name VALUE` or `--name=VALUE`; `--` ends the options; options and
 *     positional arguments may be mixed.
 *   - `--help` (or -h) prints the synopsis and every option to stdout, exit 0.
 *   - An unknown option, a missing value, a value that does not parse or is
 *     out of range, a wrong number of positional arguments: ONE line on
 *     stderr naming the option ("prog: --keep: '0' is not in 1..16"), exit 2,
 *     before the program does any work.
 *   - Numbers are decimal, unsigned 64-bit, parsed strictly (no sign, no
 *     trailing characters, ERANGE is an error: 99999999999999999999999 is
 *     refused, never read as 18446744073709551615). Reals are finite.
 *   - A seed option (MMF_CLI_SEED) that is not given is drawn from
 *     getrandom(2); the program prints the seed it used (given or drawn)
 *     in its first line, so any run can be replayed.
 *
 * Threads: none of this is thread-safe (it is for main()).
 */
#ifndef MMF_CLI_H
#define MMF_CLI_H

#include "mmapfile.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the option words: X(word, value, what it means) ------------------- */

/* --grow: enum mmf_grow (mmapfile.h). */
#define MMF_CLI_GROWTH(X)						\
	X(double, MMF_GROW_DOUBLE, "double the size (capped by the max step)") \
	X(exact, MMF_GROW_EXACT, "grow to exactly the end the write needs") \
	X(chunk, MMF_GROW_CHUNK, "round the needed end up to the chunk")	\
	X(seed, MMF_GROW_SEED, "the seed's policy: double for slices, exact for appends")

/* --flags: a comma list of these, or the word of MMF_CLI_NO_FLAGS. */
#define MMF_CLI_FLAGS(X)						\
	X(reserve, MMF_RESERVE, "posix_fallocate new space")		\
	X(populate, MMF_POPULATE, "prefault new space")			\
	X(sync_before_grow, MMF_SYNC_BEFORE_GROW, "msync the mapping before each grow") \
	X(stable, MMF_STABLE, "reserve max_size of address space: the mapping never moves")

/* The flag list that sets no flag. */
#define MMF_CLI_FLAG_WORDS(X)						\
	X(none, 0, "no flag")

/* Whole option sets (a benchmark's `opts:` key, loadgen --options). */
#define MMF_CLI_OPTION_SETS(X)						\
	X(default, mmf_options_init, "the library's defaults")		\
	X(seed_compat, mmf_options_seed, "what the seed did: seed growth, sync_before_grow, no reserve")

/* The append calls a workload uses (loadgen --api, a benchmark's `api:`);
 * the value is the index in mmf_cli_append_apis. */
#define MMF_CLI_APPEND_APIS(X)						\
	X(allocate_slice, 0, "mmf_allocate_slice: a slice to write into") \
	X(append_buffer, 1, "mmf_append_buffer: copy a buffer in")

/* Benchmark profiles (--mmf_profile, MMF_BENCH_PROFILE). */
#define MMF_CLI_PROFILES(X)						\
	X(quick, 0, "the rows scripts/test and CI run")			\
	X(full, 1, "every row, more targets")

/* ---- values ------------------------------------------------------------ */

/* The words of MMF_CLI_APPEND_APIS, NULL-terminated (for MMF_CLI_CHOICE). */
extern const char *const mmf_cli_append_apis[];

/* 0 and *out set when s is one of the words; -1 (out untouched) otherwise. */
int mmf_cli_growth(const char *s, enum mmf_grow *out);
const char *mmf_cli_growth_name(enum mmf_grow g);	/* "?" when unknown */
/* A comma list of MMF_CLI_FLAGS words, or "none". */
int mmf_cli_flags(const char *s, unsigned *out);
/* mmf_options_init or mmf_options_seed into *o, by MMF_CLI_OPTION_SETS word. */
int mmf_cli_option_set(const char *s, mmf_options *o);
/* The word of the option set o equals in grow and flags, or NULL. */
const char *mmf_cli_option_set_name(const mmf_options *o);
/* Flag words of f joined with sep ("reserve+populate"), "none" when 0.
 * Returns buf. */
const char *mmf_cli_flags_name(unsigned f, const char *sep, char *buf, size_t len);
/* Index of s in MMF_CLI_PROFILES (0 quick, 1 full), or -1. */
int mmf_cli_profile(const char *s);

/* Strict decimal u64 in [min, max]: 0, or -1 (out untouched). */
int mmf_cli_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Finite real in [min, max]: 0, or -1. */
int mmf_cli_real(const char *s, double min, double max, double *out);
/* A seed from getrandom(2): 0, or a negative errno. */
int mmf_cli_random_seed(uint64_t *out);

/* ---- the parser -------------------------------------------------------- */

enum mmf_cli_kind {
	MMF_CLI_K_SWITCH,	/* no value: *(bool *)out = true */
	MMF_CLI_K_U64,		/* uint64_t in [min, max] */
	MMF_CLI_K_REAL,		/* double in [rmin, rmax] */
	MMF_CLI_K_STRING,	/* const char *, not empty */
	MMF_CLI_K_CHOICE,	/* int index into choices (NULL-terminated) */
	MMF_CLI_K_GROWTH,	/* enum mmf_grow */
	MMF_CLI_K_FLAGS,	/* unsigned */
	MMF_CLI_K_OPTION_SET,	/* mmf_options (init or seed) */
	MMF_CLI_K_SEED,		/* uint64_t, drawn at random when absent */
	MMF_CLI_K_SHARD,	/* struct mmf_cli_shard, "I/N" */
};

/* --shard I/N: the I-th (0-based) of N shards of a campaign, 0 <= I < N <=
 * MMF_CLI_MAX_SHARDS (scripts/mmfresults/shards.py). Without the option:
 * {0, 1}, the whole campaign. A shard's seed is mmf_cli_shard_seed(campaign
 * seed, I) = splitmix64(seed + I): the first output of a splitmix64
 * generator whose state is seed + I (shards.py computes the same). */
#define MMF_CLI_MAX_SHARDS 1000
struct mmf_cli_shard {
	uint64_t index, count;
};
uint64_t mmf_cli_shard_seed(uint64_t campaign_seed, uint64_t index);

struct mmf_cli_opt {
	const char *name;	/* without the leading "--" */
	enum mmf_cli_kind kind;
	void *out;
	uint64_t min, max;
	double rmin, rmax;
	const char *const *choices;
	const char *arg;	/* the value's name in --help ("N", "BYTES") */
	const char *help;
	bool seen;		/* set by mmf_cli_parse */
};

#define MMF_CLI_OPT_(n, k, o, lo, hi, rlo, rhi, ch, a, h) \
	{ (n), (k), (o), (lo), (hi), (rlo), (rhi), (ch), (a), (h), false }
#define MMF_CLI_SWITCH(n, o, h) \
	MMF_CLI_OPT_(n, MMF_CLI_K_SWITCH, o, 0, 0, 0, 0, NULL, NULL, h)
#define MMF_CLI_U64(n, o, lo, hi, a, h) \
	MMF_CLI_OPT_(n, MMF_CLI_K_U64, o, lo, hi, 0, 0, NULL, a, h)
#define MMF_CLI_REAL(n, o, lo, hi, a, h) \
	MMF_CLI_OPT_(n, MMF_CLI_K_REAL, o, 0, 0, lo, hi, NULL, a, h)
#define MMF_CLI_STRING(n, o, a, h) \
	MMF_CLI_OPT_(n, MMF_CLI_K_STRING, o, 0, 0, 0, 0, NULL, a, h)
#define MMF_CLI_CHOICE(n, o, ch, h) \
	MMF_CLI_OPT_(n, MMF_CLI_K_CHOICE, o, 0, 0, 0, 0, ch, NULL, h)
#define MMF_CLI_GROWTH_OPT(n, o, h) \
	MMF_CLI_OPT_(n, MMF_CLI_K_GROWTH, o, 0, 0, 0, 0, NULL, NULL, h)
#define MMF_CLI_FLAGS_OPT(n, o, h) \
	MMF_CLI_OPT_(n, MMF_CLI_K_FLAGS, o, 0, 0, 0, 0, NULL, "LIST", h)
#define MMF_CLI_OPTION_SET_OPT(n, o, h) \
	MMF_CLI_OPT_(n, MMF_CLI_K_OPTION_SET, o, 0, 0, 0, 0, NULL, NULL, h)
#define MMF_CLI_SEED(n, o, h) \
	MMF_CLI_OPT_(n, MMF_CLI_K_SEED, o, 0, UINT64_MAX, 0, 0, NULL, "S", h)
#define MMF_CLI_SHARD(n, o, h) \
	MMF_CLI_OPT_(n, MMF_CLI_K_SHARD, o, 0, MMF_CLI_MAX_SHARDS, 0, 0, NULL, "I/N", h)

struct mmf_cli {
	const char *prog;	/* name in messages */
	const char *synopsis;	/* after "usage: prog " */
	const char *about;	/* printed by --help after the synopsis */
	struct mmf_cli_opt *opts;
	size_t nopts;
	unsigned min_pos, max_pos;	/* positional arguments allowed */
	const char **pos;	/* out: max_pos slots */
	unsigned npos;		/* out */
};

enum { MMF_CLI_OK = 0, MMF_CLI_HELP = 1, MMF_CLI_USAGE = 2 };

/*
 * Parse argv[1..argc-1] into the options' out pointers. MMF_CLI_OK;
 * MMF_CLI_HELP after printing --help to stdout; MMF_CLI_USAGE after one line
 * on stderr. Seeds not given are drawn here (getrandom failing is a usage
 * error naming the option). An option given twice: the last value wins.
 */
int mmf_cli_parse(struct mmf_cli *cli, int argc, char **argv);
/* The exit status for a non-OK result of mmf_cli_parse: 0 or 2. */
int mmf_cli_exit(int rc);
/* A usage error the program finds after parsing (a combination of options):
 * prints "prog: <message>" and returns 2. printf-style. */
int mmf_cli_usage_error(const struct mmf_cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The option called name (without "--"), or NULL. */
const struct mmf_cli_opt *mmf_cli_find(const struct mmf_cli *cli, const char *name);

#ifdef __cplusplus
}
#endif

#endif /* MMF_CLI_H */
