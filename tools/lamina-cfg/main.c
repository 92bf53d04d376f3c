/*
 * lamina-cfg: the command line. Exit status 0: done, no problems; 1: the
 * configuration or blob has problems (each printed); 2: wrong usage or a
 * file that cannot be read.
 */
#include <lamina/lib.h>
#include <errno.h>
#include <getopt.h>

#include "cfg_tool.h"

#define EXIT_PROBLEMS 1
#define EXIT_USAGE 2
#define MAX_INPUT (16u << 20) /* no configuration or blob comes near */

enum mode { MODE_NONE, MODE_COMPILE, MODE_CHECK, MODE_DUMP, MODE_MODULES };

static const char usage_text[] =
"usage: lamina-cfg FILE.yaml -o FILE.bin   compile a configuration\n"
"       lamina-cfg --check FILE.yaml       compile and validate, write nothing\n"
"       lamina-cfg --dump FILE.bin         validate a blob, print it as YAML\n"
"       lamina-cfg --modules FILE.yaml     list the image files: NAME PATH\n"
"       lamina-cfg --help\n";

static const char help_text[] =
"\n"
"Lamina reads its VMs from a binary configuration blob that GRUB loads as\n"
"the multiboot2 module \"config\". lamina-cfg compiles the YAML that people\n"
"write (docs/config.md describes every key) into that blob, and checks it\n"
"with the same validator Lamina runs at boot.\n"
"\n"
"  FILE.yaml -o FILE.bin\n"
"      Compile and validate. The blob is written only if there is no\n"
"      problem, through a temporary file renamed into place, so FILE.bin\n"
"      is never left half-written.\n"
"  --check FILE.yaml\n"
"      The same checks; nothing is written.\n"
"  --dump FILE.bin\n"
"      Validate a blob (its images are not known here) and print it as\n"
"      YAML that compiles back to the same bytes. Images appear under\n"
"      their module names. A broken blob prints each problem instead.\n"
"  --modules FILE.yaml\n"
"      Print one line per image file, \"NAME PATH\": NAME is the module\n"
"      name (the file's basename, which the blob uses), PATH the file as\n"
"      seen from the current directory (image paths in the YAML are\n"
"      relative to the YAML file). tools/mkiso.sh makes the module2 lines\n"
"      of grub.cfg from it.\n"
"\n"
"Each problem is one line, FILE:LINE:COLUMN: PATH: what is wrong, or\n"
"FILE: problem when no line applies. All problems are printed.\n"
"Exit status: 0 no problems, 1 problems found, 2 wrong usage or an\n"
"unreadable file.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fputs("lamina-cfg: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

/* The whole of @path, malloc'ed (NUL-terminated); NULL with errno set. */
static char *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			char *p = cap < MAX_INPUT ? realloc(buf, cap + 65536) : NULL;

			if (!p) {
				errno = cap < MAX_INPUT ? ENOMEM : EFBIG;
				goto err_read;
			}
			buf = p;
			cap += 65536;
		}
		n += fread(buf + n, 1, cap - n - 1, f);
		if (ferror(f))
			goto err_read;
		if (feof(f))
			break;
	}
	fclose(f);
	buf[n] = '\0';
	*size = n;
	return buf;
err_read:
	free(buf);
	fclose(f);
	return NULL;
}

static int cannot_read(const char *path)
{
	fprintf(stderr, "lamina-cfg: cannot read %s: %s\n", path,
		strerror(errno ? errno : EIO));
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int run_compile(enum mode mode, const char *in, const char *out_path)
{
	struct cfg_compile_opts opts = { .filename = in, .open_images = true };
	struct diag d = { .file = in, .out = stderr };
	struct cfg_output out;
	size_t len;
	char *text = read_file(in, &len);
	int rc = 0, err;

	if (!text)
		return cannot_read(in);
	if (cfg_compile(text, len, &opts, &d, &out)) {
		rc = EXIT_PROBLEMS;
	} else if (mode == MODE_COMPILE) {
		err = cfg_write_file(out_path, out.blob, out.size);
		if (err) {
			fprintf(stderr, "lamina-cfg: cannot write %s: %s\n",
				out_path, strerror(-err));
			rc = EXIT_PROBLEMS;
		}
	} else if (mode == MODE_MODULES) {
		for (unsigned int i = 0; i < out.spec->nr_images; i++)
			printf("%s %s\n", out.spec->images[i].name,
			       out.spec->images[i].path);
	}
	cfg_output_free(&out);
	free(text);
	return rc;
}

static int run_dump(const char *in)
{
	struct diag d = { .file = in, .out = stderr };
	size_t len;
	char *blob = read_file(in, &len);
	int rc = 0;

	if (!blob)
		return cannot_read(in);
	if (cfg_check_blob(blob, len, &d))
		rc = EXIT_PROBLEMS;
	else
		cfg_dump(blob, stdout, in);
	free(blob);
	return rc;
}

static int set_mode(enum mode *mode, enum mode m)
{
	if (*mode != MODE_NONE && *mode != m)
		return -1;
	*mode = m;
	return 0;
}

/* The options into @mode and @out_path: 0 to go on, -1 after --help, or
 * the exit status of a usage error. */
static int parse_options(int argc, char **argv, enum mode *mode,
			 const char **out_path)
{
	static const struct option longopts[] = {
		{ "check", no_argument, NULL, 'c' },
		{ "dump", no_argument, NULL, 'd' },
		{ "modules", no_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt, bad = 0;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			bad |= set_mode(mode, MODE_CHECK);
			break;
		case 'd':
			bad |= set_mode(mode, MODE_DUMP);
			break;
		case 'm':
			bad |= set_mode(mode, MODE_MODULES);
			break;
		case 'o':
			bad |= set_mode(mode, MODE_COMPILE);
			*out_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			fputs(help_text, stdout);
			return -1;
		default:
			return usage_error("unknown option or missing argument: %s",
					   argv[optind - 1]);
		}
	}
	if (bad)
		return usage_error("%s", "give one of -o, --check, --dump, --modules");
	return 0;
}

int main(int argc, char **argv)
{
	enum mode mode = MODE_NONE;
	const char *out_path = NULL;
	int rc = parse_options(argc, argv, &mode, &out_path);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (optind + 1 != argc)
		return usage_error("%s", optind == argc ? "no input file" :
				   "more than one input file");
	if (mode == MODE_NONE)
		return usage_error("%s: nothing to do: give -o FILE.bin, --check, --dump or --modules",
				   argv[optind]);
	if (mode == MODE_DUMP)
		return run_dump(argv[optind]);
	return run_compile(mode, argv[optind], out_path);
}
