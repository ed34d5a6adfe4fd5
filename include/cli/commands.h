/* Subcommands of the immutable-guard binary. Each takes the arguments after its
 * own name (argv[0] is the subcommand name) and returns the process exit code. */
#ifndef IG_CLI_COMMANDS_H
#define IG_CLI_COMMANDS_H

int ig_cmd_version(int argc, char **argv);
int ig_cmd_serve(int argc, char **argv);
int ig_cmd_check(int argc, char **argv);
int ig_cmd_ssm(int argc, char **argv);

#endif
