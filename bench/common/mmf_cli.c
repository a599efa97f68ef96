/*
 * mmf_cli.c - the option words and the command-line parser of mmf_cli.h.
 */
#define _DEFAULT_SOURCE
#include "mmf_cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- values ------------------------------------------------------------ */

#define WORD_GROWTH(w, v, d) { #w, v },
static const struct { const char *w; enum mmf_grow v; } growth[] = {
	MMF_CLI_GROWTH(WORD_GROWTH)
};
#define WORD_FLAG(w, v, d) { #w, v },
static const struct { const char *w; unsigned v; } flag_words[] = {
	MMF_CLI_FLAGS(WORD_FLAG)
};
static const struct { const char *w; unsigned v; } no_flags[] = {
	MMF_CLI_FLAG_WORDS(WORD_FLAG)
};
#define WORD_SET(w, fn, d) { #w, fn },
static const struct { const char *w; void (*fn)(mmf_options *); } option_sets[] = {
	MMF_CLI_OPTION_SETS(WORD_SET)
};
#define WORD_NAME(w, v, d) #w,
static const char *const profiles[] = { MMF_CLI_PROFILES(WORD_NAME) };
const char *const mmf_cli_append_apis[] = { MMF_CLI_APPEND_APIS(WORD_NAME) NULL };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int mmf_cli_growth(const char *s, enum mmf_grow *out)
{
	for (size_t i = 0; i < COUNT(growth); i++)
		if (!strcmp(s, growth[i].w)) {
			*out = growth[i].v;
			return 0;
		}
	return -1;
}

const char *mmf_cli_growth_name(enum mmf_grow g)
{
	for (size_t i = 0; i < COUNT(growth); i++)
		if (growth[i].v == g)
			return growth[i].w;
	return "?";
}

static int one_flag(const char *s, size_t len, unsigned *fl)
{
	for (size_t i = 0; i < COUNT(flag_words); i++)
		if (strlen(flag_words[i].w) == len && !strncmp(s, flag_words[i].w, len)) {
			*fl |= flag_words[i].v;
			return 0;
		}
	return -1;
}

int mmf_cli_flags(const char *s, unsigned *out)
{
	unsigned fl = 0;
	const char *p = s;

	if (!strcmp(s, no_flags[0].w)) {
		*out = no_flags[0].v;
		return 0;
	}
	for (;;) {
		size_t len = strcspn(p, ",");

		if (one_flag(p, len, &fl) < 0)
			return -1;
		if (!p[len])
			break;
		p += len + 1;
	}
	*out = fl;
	return 0;
}

int mmf_cli_option_set(const char *s, mmf_options *o)
{
	for (size_t i = 0; i < COUNT(option_sets); i++)
		if (!strcmp(s, option_sets[i].w)) {
			option_sets[i].fn(o);
			return 0;
		}
	return -1;
}

const char *mmf_cli_option_set_name(const mmf_options *o)
{
	mmf_options ref;

	for (size_t i = 0; i < COUNT(option_sets); i++) {
		option_sets[i].fn(&ref);
		if (ref.grow == o->grow && ref.flags == o->flags)
			return option_sets[i].w;
	}
	return NULL;
}

const char *mmf_cli_flags_name(unsigned f, const char *sep, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < COUNT(flag_words); i++)
		if (f & flag_words[i].v)
			n += (size_t)snprintf(buf + (n < len ? n : len), n < len ? len - n : 0,
					      "%s%s", n ? sep : "", flag_words[i].w);
	if (!n)
		snprintf(buf, len, "%s", no_flags[0].w);
	return buf;
}

int mmf_cli_profile(const char *s)
{
	for (size_t i = 0; i < COUNT(profiles); i++)
		if (!strcmp(s, profiles[i]))
			return (int)i;
	return -1;
}

int mmf_cli_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')	/* no sign, no space, not empty */
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int mmf_cli_real(const char *s, double min, double max, double *out)
{
	double v;
	char *end;

	if (!s || !*s || *s == ' ')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno == ERANGE || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int mmf_cli_random_seed(uint64_t *out)
{
	uint64_t v;
	ssize_t n = getrandom(&v, sizeof(v), 0);

	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(v))
		return -EIO;
	*out = v;
	return 0;
}

/* ---- the parser -------------------------------------------------------- */

int mmf_cli_usage_error(const struct mmf_cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see --help)\n", stderr);
	return MMF_CLI_USAGE;
}

int mmf_cli_exit(int rc)
{
	return rc == MMF_CLI_HELP ? 0 : 2;
}

const struct mmf_cli_opt *mmf_cli_find(const struct mmf_cli *cli, const char *name)
{
	for (size_t i = 0; i < cli->nopts; i++)
		if (!strcmp(cli->opts[i].name, name))
			return &cli->opts[i];
	return NULL;
}

/* "a|b|c" of a word table, into buf. */
#define JOIN_WORD(w, v, d) #w "|"
static const char growth_words[] = MMF_CLI_GROWTH(JOIN_WORD);
static const char set_words[] = MMF_CLI_OPTION_SETS(JOIN_WORD);
#define LIST_WORD(w, v, d) #w ","
static const char flag_list[] = MMF_CLI_FLAGS(LIST_WORD) MMF_CLI_FLAG_WORDS(LIST_WORD);

/* The accepted values of o, for messages and --help. */
static void describe(const struct mmf_cli_opt *o, char *buf, size_t len)
{
	size_t n = 0;

	switch (o->kind) {
	case MMF_CLI_K_GROWTH:
		snprintf(buf, len, "%.*s", (int)sizeof(growth_words) - 2, growth_words);
		return;
	case MMF_CLI_K_OPTION_SET:
		snprintf(buf, len, "%.*s", (int)sizeof(set_words) - 2, set_words);
		return;
	case MMF_CLI_K_FLAGS:
		snprintf(buf, len, "a comma list of %.*s", (int)sizeof(flag_list) - 2,
			 flag_list);
		return;
	case MMF_CLI_K_CHOICE:
		buf[0] = '\0';
		for (const char *const *c = o->choices; *c && n < len; c++)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? "|" : "", *c);
		return;
	case MMF_CLI_K_U64:
	case MMF_CLI_K_SEED:
		snprintf(buf, len, "an integer in %llu..%llu", (unsigned long long)o->min,
			 (unsigned long long)o->max);
		return;
	case MMF_CLI_K_REAL:
		snprintf(buf, len, "a number in %g..%g", o->rmin, o->rmax);
		return;
	case MMF_CLI_K_SHARD:
		snprintf(buf, len, "I/N with 0 <= I < N <= %llu", (unsigned long long)o->max);
		return;
	default:
		snprintf(buf, len, "a non-empty string");
	}
}

static int set_choice(const struct mmf_cli_opt *o, const char *v)
{
	for (int i = 0; o->choices[i]; i++)
		if (!strcmp(v, o->choices[i])) {
			*(int *)o->out = i;
			return 0;
		}
	return -1;
}

/* "I/N" into *out: 0, or -1 unless 0 <= I < N <= max. */
static int set_shard(const char *v, uint64_t max, struct mmf_cli_shard *out)
{
	const char *slash = strchr(v, '/');
	char index[24];
	uint64_t i, n;

	if (!slash || (size_t)(slash - v) >= sizeof(index))
		return -1;
	memcpy(index, v, (size_t)(slash - v));
	index[slash - v] = '\0';
	if (mmf_cli_u64(slash + 1, 1, max, &n) < 0 || mmf_cli_u64(index, 0, n - 1, &i) < 0)
		return -1;
	out->index = i;
	out->count = n;
	return 0;
}

uint64_t mmf_cli_shard_seed(uint64_t campaign_seed, uint64_t index)
{
	uint64_t z = campaign_seed + index + UINT64_C(0x9e3779b97f4a7c15);

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Store v into o's out: 0, or -1 when v is not a value of o. */
static int set_value(const struct mmf_cli_opt *o, const char *v)
{
	switch (o->kind) {
	case MMF_CLI_K_U64:
	case MMF_CLI_K_SEED:
		return mmf_cli_u64(v, o->min, o->max, o->out);
	case MMF_CLI_K_REAL:
		return mmf_cli_real(v, o->rmin, o->rmax, o->out);
	case MMF_CLI_K_STRING:
		if (!*v)
			return -1;
		*(const char **)o->out = v;
		return 0;
	case MMF_CLI_K_CHOICE:
		return set_choice(o, v);
	case MMF_CLI_K_GROWTH:
		return mmf_cli_growth(v, o->out);
	case MMF_CLI_K_FLAGS:
		return mmf_cli_flags(v, o->out);
	case MMF_CLI_K_OPTION_SET:
		return mmf_cli_option_set(v, o->out);
	case MMF_CLI_K_SHARD:
		return set_shard(v, o->max, o->out);
	default:
		return -1;
	}
}

static void print_help(const struct mmf_cli *cli)
{
	char vals[256], left[64];

	printf("usage: %s %s\n", cli->prog, cli->synopsis);
	if (cli->about)
		printf("%s\n", cli->about);
	printf("options:\n");
	for (size_t i = 0; i < cli->nopts; i++) {
		const struct mmf_cli_opt *o = &cli->opts[i];

		if (o->kind == MMF_CLI_K_SWITCH) {
			snprintf(left, sizeof(left), "--%s", o->name);
			printf("  %-26s %s\n", left, o->help);
			continue;
		}
		describe(o, vals, sizeof(vals));
		snprintf(left, sizeof(left), "--%s %s", o->name, o->arg ? o->arg : "WORD");
		printf("  %-26s %s\n  %-26s   (%s)\n", left, o->help, "", vals);
	}
	printf("  %-26s this text\n", "--help");
}

/* Option argv[*i] (starting "--"): its value stored; *i advanced past it. */
static int take_option(struct mmf_cli *cli, int argc, char **argv, int *i)
{
	const char *a = argv[*i] + 2, *eq = strchr(a, '='), *v;
	size_t len = eq ? (size_t)(eq - a) : strlen(a);
	struct mmf_cli_opt *o = NULL;
	char vals[256];

	for (size_t k = 0; k < cli->nopts && !o; k++)
		if (strlen(cli->opts[k].name) == len && !strncmp(cli->opts[k].name, a, len))
			o = &cli->opts[k];
	if (!o)
		return mmf_cli_usage_error(cli, "unknown option --%.*s", (int)len, a);
	o->seen = true;
	if (o->kind == MMF_CLI_K_SWITCH) {
		if (eq)
			return mmf_cli_usage_error(cli, "--%s takes no value", o->name);
		*(bool *)o->out = true;
		return MMF_CLI_OK;
	}
	if (eq)
		v = eq + 1;
	else if (*i + 1 < argc)
		v = argv[++*i];
	else
		return mmf_cli_usage_error(cli, "--%s needs a value", o->name);
	if (set_value(o, v) < 0) {
		describe(o, vals, sizeof(vals));
		return mmf_cli_usage_error(cli, "--%s: '%s' is not %s%s", o->name, v,
					   o->kind == MMF_CLI_K_CHOICE || o->kind == MMF_CLI_K_GROWTH ||
					   o->kind == MMF_CLI_K_OPTION_SET ? "one of " : "", vals);
	}
	return MMF_CLI_OK;
}

/* Draw every seed that was not given. */
static int draw_seeds(struct mmf_cli *cli)
{
	for (size_t k = 0; k < cli->nopts; k++) {
		struct mmf_cli_opt *o = &cli->opts[k];
		int rc;

		if (o->kind != MMF_CLI_K_SEED || o->seen)
			continue;
		rc = mmf_cli_random_seed(o->out);
		if (rc < 0)
			return mmf_cli_usage_error(cli, "--%s not given and getrandom failed: %s",
						   o->name, strerror(-rc));
	}
	return MMF_CLI_OK;
}

int mmf_cli_parse(struct mmf_cli *cli, int argc, char **argv)
{
	bool opts_done = false;
	int rc;

	cli->npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!opts_done && (!strcmp(a, "--help") || !strcmp(a, "-h"))) {
			print_help(cli);
			return MMF_CLI_HELP;
		}
		if (!opts_done && !strcmp(a, "--")) {
			opts_done = true;
		} else if (!opts_done && a[0] == '-' && a[1] == '-') {
			rc = take_option(cli, argc, argv, &i);
			if (rc != MMF_CLI_OK)
				return rc;
		} else if (!opts_done && a[0] == '-' && a[1]) {
			return mmf_cli_usage_error(cli, "unknown option %s", a);
		} else if (cli->npos < cli->max_pos) {
			cli->pos[cli->npos++] = a;
		} else {
			return mmf_cli_usage_error(cli, "unexpected argument '%s'", a);
		}
	}
	if (cli->npos < cli->min_pos)
		return mmf_cli_usage_error(cli, "missing argument (usage: %s %s)",
					   cli->prog, cli->synopsis);
	return draw_seeds(cli);
}
