/*
 * libFuzzer target for lamina-cfg's YAML compiler (tools/lamina-cfg): the
 * input is a configuration file, compiled with images not opened (their
 * files are not known here) and validated. Besides the sanitizers and the
 * leak checker it checks the round trip that `--dump` promises: a blob
 * that compiled cleanly, printed as YAML and compiled again, gives the
 * same bytes.
 */
#include <lamina/lib.h>

#include "cfg_tool.h"

static const struct cfg_compile_opts opts = {
	.filename = "fuzz/config.yaml",
	.open_images = false,
};

static void round_trip(const struct cfg_output *first)
{
	struct diag d = { .file = "dump.yaml" };
	struct cfg_output again;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (cfg_check_blob(first->blob, first->size, &d))
		__builtin_trap(); /* compiled, validated, yet a broken blob */
	f = open_memstream(&text, &len);
	if (!f)
		return;
	cfg_dump(first->blob, f, "fuzz");
	fclose(f);
	if (cfg_compile(text, len, &opts, &d, &again) ||
	    again.size != first->size ||
	    memcmp(again.blob, first->blob, first->size))
		__builtin_trap(); /* the dump does not compile to the same blob */
	cfg_output_free(&again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = { .file = "fuzz/config.yaml" };
	struct cfg_output out;

	if (!cfg_compile((const char *)data, size, &opts, &d, &out))
		round_trip(&out);
	cfg_output_free(&out);
	return 0;
}
