#ifndef LAMINA_MONITOR_COMMANDS_H
#define LAMINA_MONITOR_COMMANDS_H

#include <lamina/monitor.h>

extern const struct mon_cmd monitor_commands[];
extern const size_t nr_monitor_commands;

#endif
