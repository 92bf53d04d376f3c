/*
 * lamina-cfg: compile a YAML configuration into the blob of
 * include/abi/config.h, check it with the shared validator, and print a
 * blob back as YAML. docs/config.md describes the YAML.
 *
 * The pipeline: compile.c and compile_vm.c walk the YAML document (with
 * the typed readers of walk.c) into a struct cfg_spec: plain values, each
 * with the source position it came from. blob.c lays the spec out as a
 * blob; check.c runs cfg_validate() on it and maps each problem back to a
 * line; dump.c prints a blob as YAML. main.c holds the command line, and
 * is the only part the fuzz target (tests/fuzz/fuzz_yaml.c) leaves out.
 */
#ifndef LAMINA_CFG_TOOL_H
#define LAMINA_CFG_TOOL_H

#include <lamina/bootinfo.h>
#include <lamina/config.h>
#include <stdio.h>

/* A position in the YAML file, 1-based; line 0: none. */
struct src_mark {
	unsigned int line;
	unsigned int col;
};

/* Where problems go: "FILE:LINE:COL: text" lines, counted. */
struct diag {
	const char *file;
	FILE *out;              /* NULL: count only (the fuzz target) */
	unsigned int count;
};

void diag_at(struct diag *d, struct src_mark at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------- spec */

/* An image file that becomes a multiboot2 module. */
struct cfg_image {
	char *name;             /* the module name: the file's basename */
	char *path;             /* usable from the current directory */
	u64 size;               /* bytes, when the file was opened */
	u64 dev, ino;           /* the file's identity, when opened */
	struct src_mark at;     /* its first mention */
};

/* GRUB hands Lamina at most BOOTINFO_MAX_MODULES; one is the blob. */
#define CFG_MAX_IMAGES (BOOTINFO_MAX_MODULES - 1)

struct spec_region {
	u64 gpa;
	u64 size;
	u32 flags;              /* CFG_MEM_* */
	const char *image;      /* module name, or NULL */
	struct src_mark at;
};

struct spec_device {
	u32 kind;               /* enum cfg_device_kind */
	u32 irq;
	u64 base;
	u64 size;
	u64 gpa;
	struct src_mark at;
};

/* Source positions of one VM's parts, for validator problems. */
struct spec_vm_marks {
	struct src_mark vm, name, cpus, crash, budget, memory, boot, kind;
	struct src_mark entry, image, cmdline, initrd, devices;
};

struct spec_vm {
	char *name;
	u32 flags;              /* CFG_VM_* */
	u64 cpus;
	u32 first_region, nr_regions;
	u32 first_device, nr_devices;
	u32 boot_kind;          /* enum cfg_boot_kind; 0 until known */
	const char *boot_image; /* module names, or NULL */
	const char *initrd;
	char *cmdline;          /* NULL: none */
	u64 entry;
	u32 crash_policy;
	u32 restart_budget;
	struct spec_vm_marks m;
};

/*
 * Everything the YAML says, before layout. The VMs own their name and
 * cmdline; region and boot images point to the image table's names.
 */
struct cfg_spec {
	u32 log_level;
	u32 monitor_cpu;
	unsigned int nr_vms, nr_regions, nr_devices, nr_images;
	struct spec_vm vms[CFG_MAX_VMS];
	struct spec_region regions[CFG_MAX_REGIONS];
	struct spec_device devices[CFG_MAX_DEVICES];
	struct cfg_image images[CFG_MAX_IMAGES];
	struct src_mark log_level_at, monitor_cpu_at, vms_at;
};

/* ---------------------------------------------------------------- compile */

struct cfg_compile_opts {
	const char *filename;   /* for messages and relative image paths */
	bool open_images;       /* false: images are not opened (fuzzing) */
};

struct cfg_output {
	void *blob;             /* malloc'ed; NULL when there were problems */
	size_t size;
	struct cfg_spec *spec;  /* the images, for --modules */
};

/*
 * Compile @len bytes of YAML, then validate the blob. Every problem is
 * reported to @d. Returns the number of problems (0: @out->blob is good).
 * Always release @out with cfg_output_free().
 */
unsigned int cfg_compile(const char *yaml, size_t len,
			 const struct cfg_compile_opts *opts,
			 struct diag *d, struct cfg_output *out);
void cfg_output_free(struct cfg_output *out);

/* blob.c: lay out @spec; NULL (with a report) when it does not fit. */
void *cfg_build_blob(const struct cfg_spec *spec, struct diag *d,
		     size_t *size);
/* Write @size bytes to @path through a temporary file and a rename. */
int cfg_write_file(const char *path, const void *data, size_t size);

/* check.c: validate a compiled blob; problems cite the spec's lines. */
unsigned int cfg_check_spec(const void *blob, size_t size,
			    const struct cfg_spec *spec, bool modules_known,
			    struct diag *d);
/* check.c: validate a blob read from a file (modules not known). */
unsigned int cfg_check_blob(const void *blob, size_t size, struct diag *d);

/* dump.c: print a validated blob as YAML that compiles back to it. */
void cfg_dump(const void *blob, FILE *out, const char *source);

/* Names of the enumerations, shared by the compiler and the dumper. */
extern const char *const cfg_log_level_names[4];
const char *cfg_mem_flag_name(u32 bit);

#endif
