#ifndef LAMINA_MONITOR_COMMANDS_H
#define LAMINA_MONITOR_COMMANDS_H

#include <lamina/monitor.h>

extern const struct mon_cmd monitor_commands[];
extern const size_t nr_monitor_commands;

/* cmd_vm.c */
struct vm;
/* The VM named (or numbered) @s, or NULL after one `error:` line. */
struct vm *mon_vm_arg(struct mon_ctx *ctx, const char *s);
int cmd_vms(struct mon_ctx *ctx, int argc, char **argv);
int cmd_slots(struct mon_ctx *ctx, int argc, char **argv);
int cmd_xlate(struct mon_ctx *ctx, int argc, char **argv);
int cmd_start(struct mon_ctx *ctx, int argc, char **argv);
int cmd_stats(struct mon_ctx *ctx, int argc, char **argv);

/* cmd_ctl.c */
int cmd_create(struct mon_ctx *ctx, int argc, char **argv);
int cmd_destroy(struct mon_ctx *ctx, int argc, char **argv);
int cmd_pause(struct mon_ctx *ctx, int argc, char **argv);
int cmd_resume(struct mon_ctx *ctx, int argc, char **argv);
int cmd_reset(struct mon_ctx *ctx, int argc, char **argv);
int cmd_regs(struct mon_ctx *ctx, int argc, char **argv);
int cmd_x(struct mon_ctx *ctx, int argc, char **argv);
int cmd_w(struct mon_ctx *ctx, int argc, char **argv);
int cmd_dump(struct mon_ctx *ctx, int argc, char **argv);
int cmd_irq(struct mon_ctx *ctx, int argc, char **argv);

/* cmd_mem.c */
int cmd_slot(struct mon_ctx *ctx, int argc, char **argv);
int cmd_dirty(struct mon_ctx *ctx, int argc, char **argv);

/* cmd_console.c */
int cmd_console(struct mon_ctx *ctx, int argc, char **argv);

#endif
