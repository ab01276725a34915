/* sim_commands.h: the register's commands of snesync-sim: `generate`, `evolve` and `export`, their
 * options and help, and what they print (TAB-separated name/value lines on stdout).
 *
 * Each takes argv[0] = the command's name and returns the process exit code: 0, 1 when the
 * command failed (a message on stderr), 2 on a usage error. */
#ifndef SIM_COMMANDS_H
#define SIM_COMMANDS_H

int sim_cmd_generate(int argc, char **argv);
int sim_cmd_evolve(int argc, char **argv);
int sim_cmd_export(int argc, char **argv);

#endif
