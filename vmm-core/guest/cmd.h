/*
 * cmd.h - the shell's commands.
 */
#ifndef GUEST_CMD_H
#define GUEST_CMD_H

/* Split `line` (modified in place) into words and run the command. */
void cmd_run(char *line);

#endif
