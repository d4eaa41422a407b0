/*
 * toolcage gate: pid 1 of every pooled container, bound in read-only from
 * the host. A pooled container is started before its call exists; the gate
 * makes sure no tool code runs until then, and says itself when the tool
 * succeeded, so the runner need not wait for the engine's clean-up.
 *
 *  1. It makes itself non-dumpable (PR_SET_DUMPABLE 0): a tool running as
 *     the same uid cannot ptrace it or read /proc/1/mem.
 *  2. It blocks until the call arrives, then reads exactly NONCE_LEN hex
 *     digits and a newline from stdin: a per-call random nonce the runner
 *     sends before the input. The tool is forked only after: it never sees
 *     the nonce (not in argv, env or any file; its stdin starts at the byte
 *     after it, and the forked copy is wiped before exec).
 *  3. It forks the tool with stdin, stdout and stderr inherited, and waits
 *     for it, reaping orphans meanwhile (tini's job in other containers).
 *  4. Only when the tool exited with status 0, it writes the trailer
 *     "\0toolcage-exit0:" NONCE "\n" on stdout and on stderr, after every
 *     byte the tool wrote there. It then exits with the tool's status (128 +
 *     signal for a signal death), which ends the pid namespace: a child the
 *     tool left running dies with it.
 *
 * The trailer holds the nonce only for a success: a tool that manages to
 * read the container's stdout back (gVisor lets it open /proc/1/fd/1) can
 * learn a nonce only once it has truly exited 0, never to claim a success
 * for a failure. Every other ending carries no trailer, and the runner
 * waits for the engine's verdict as before.
 *
 * Built static (gcc -static -O2 -s) during `toolcage images build`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define NONCE_LEN 64
#define HEAD "\0toolcage-exit0:"
#define HEAD_LEN 16

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t w = write(fd, buf, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;
    }
    buf += w;
    len -= (size_t)w;
  }
}

static void fail(const char *what, int code) {
  char line[128];
  int n = snprintf(line, sizeof line, "toolcage-gate: %s: %s\n", what, strerror(errno));
  if (n > 0) write_all(2, line, (size_t)n);
  _exit(code);
}

int main(int argc, char **argv) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (argc < 2) {
    errno = EINVAL;
    fail("no command", 127);
  }

  /* Byte-exact: never a byte of the tool's input. */
  char nonce[NONCE_LEN + 1];
  size_t got = 0;
  while (got < sizeof nonce) {
    ssize_t r = read(0, nonce + got, sizeof nonce - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) _exit(125); /* stdin closed before a call came: no tool runs */
    got += (size_t)r;
  }
  if (nonce[NONCE_LEN] != '\n') _exit(125);
  for (size_t i = 0; i < NONCE_LEN; i++) {
    char c = nonce[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) _exit(125);
  }

  pid_t tool = fork();
  if (tool < 0) fail("fork", 126);
  if (tool == 0) {
    explicit_bzero(nonce, sizeof nonce);
    execvp(argv[1], argv + 1);
    fail("exec", 127);
  }

  int status = 0;
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, 0);
    if (p < 0) {
      if (errno == EINTR) continue;
      fail("wait", 126);
    }
    if (p == tool) {
      status = st;
      break;
    }
  }

  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    char trailer[HEAD_LEN + NONCE_LEN + 1];
    memcpy(trailer, HEAD, HEAD_LEN);
    memcpy(trailer + HEAD_LEN, nonce, NONCE_LEN);
    trailer[HEAD_LEN + NONCE_LEN] = '\n';
    /* One write each, under PIPE_BUF: atomic, never split by another writer's bytes. */
    write_all(1, trailer, sizeof trailer);
    write_all(2, trailer, sizeof trailer);
    explicit_bzero(trailer, sizeof trailer);
  }
  explicit_bzero(nonce, sizeof nonce);
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
