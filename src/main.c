#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "common/json_arena.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    {"serve", ig_cmd_serve, "serve the admission webhook over HTTPS until SIGTERM"},
    {"check", ig_cmd_check, "run the rule offline on manifest files (YAML or JSON)"},
    {"ssm", ig_cmd_ssm, "read SSM parameters with the sync daemon's AWS client"},
    {"version", ig_cmd_version, "print the version and build information"},
    {"help", cmd_help, "show this help"},
};

static void print_usage(FILE *out)
{
    fputs("Usage: immutable-guard COMMAND [OPTIONS]\n\n"
          "Guards External Secrets Operator objects whose target Secret is immutable\n"
          "while they still expect refreshes.\n\nCommands:\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fputs("\nRun 'immutable-guard COMMAND --help' for the options of one command.\n", out);
}

static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    print_usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    /* cJSON's allocation hooks are process-wide: set them before any thread starts. */
    ig_json_arena_install();

    if (argc < 2) {
        print_usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "immutable-guard: unknown command '%s'; run 'immutable-guard help' for the list\n",
            argv[1]);
    return 2;
}
