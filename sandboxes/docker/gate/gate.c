/*
 * toolcage gate: the entrypoint of every pooled container (under tini),
 * bound in read-only from the host. A pooled container is started before
 * its call exists; the gate makes sure no tool code runs until then. It
 * blocks until the call's input reaches stdin (readable, or closed), and
 * only then execs the tool's command, leaving stdin untouched for it.
 * Built static (gcc -static -O2 -s) during `toolcage images build`.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs("toolcage-gate: no command\n", stderr);
    return 127;
  }
  struct pollfd in = {.fd = 0, .events = POLLIN};
  for (;;) {
    int r = poll(&in, 1, -1);
    if (r > 0) break;
    if (r < 0 && errno != EINTR) {
      perror("toolcage-gate: poll");
      return 126;
    }
  }
  execvp(argv[1], argv + 1);
  perror("toolcage-gate: exec");
  return 127;
}
