/*
 * egress-client: the smallest HTTP client for toolcage's egress socket, for
 * the Docker egress tests (test image only; busybox has no Unix-socket HTTP
 * client). Built with `gcc -static -O2 -s` when the test image is built.
 *
 *   egress-client METHOD URL [BODY]
 *
 * Drains stdin (the tool's JSON input), sends one absolute-form request
 * (`METHOD URL HTTP/1.1`) to the socket named by $TOOLCAGE_EGRESS_SOCKET
 * (default /run/toolcage/egress.sock), and prints one JSON object:
 *   {"status":200,"egress":"","body":"..."}        an answer (egress: the
 *                                                 proxy's x-toolcage-egress)
 *   {"error":"connect: No such file or directory"} no answer
 * It always exits 0, so the test reads the outcome from the output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_RESPONSE (1024 * 1024)

static char response[MAX_RESPONSE + 1];

static void json_string(const char *s, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static int fail(const char *what) {
  printf("{\"error\":");
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  json_string(msg, strlen(msg));
  printf("}\n");
  return 0;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: egress-client METHOD URL [BODY]\n");
    return 2;
  }
  const char *method = argv[1], *url = argv[2], *body = argc == 4 ? argv[3] : NULL;
  char sink[4096];
  while (read(0, sink, sizeof sink) > 0) {
  }

  const char *path = getenv("TOOLCAGE_EGRESS_SOCKET");
  if (path == NULL || *path == '\0') path = "/run/toolcage/egress.sock";
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return fail("socket path");
  }
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return fail("socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) return fail("connect");

  /* The proxy sets Host itself from the URL; it is sent only because HTTP/1.1 requires one. */
  char head[8192];
  int len = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: egress\r\nConnection: close\r\n", method, url);
  if (len < 0 || (size_t)len >= sizeof head) {
    errno = E2BIG;
    return fail("request line");
  }
  if (body != NULL) len += snprintf(head + len, sizeof head - (size_t)len, "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
  len += snprintf(head + len, sizeof head - (size_t)len, "\r\n");
  if (write_all(fd, head, (size_t)len) < 0 || (body != NULL && write_all(fd, body, strlen(body)) < 0)) return fail("write");

  size_t got = 0;
  for (;;) {
    if (got == MAX_RESPONSE) break;
    ssize_t r = read(fd, response + got, MAX_RESPONSE - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail("read");
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  close(fd);
  response[got] = '\0';

  int status = 0;
  if (sscanf(response, "HTTP/1.%*d %d", &status) != 1) {
    errno = EPROTO;
    return fail("response");
  }
  char *end = strstr(response, "\r\n\r\n");
  size_t head_len = end ? (size_t)(end - response) : got;
  const char *payload = end ? end + 4 : response + got;

  /* The proxy names its refusals in x-toolcage-egress (not_allowed, address_forbidden, ...). */
  const char *kind = "";
  size_t kind_len = 0;
  for (char *line = strstr(response, "\r\n"); line != NULL && (size_t)(line - response) < head_len; line = strstr(line + 2, "\r\n")) {
    if (strncasecmp(line + 2, "x-toolcage-egress:", 18) == 0) {
      kind = line + 20;
      while (*kind == ' ') kind++;
      kind_len = strcspn(kind, "\r\n");
      break;
    }
  }
  printf("{\"status\":%d,\"egress\":", status);
  json_string(kind, kind_len);
  printf(",\"body\":");
  json_string(payload, got - (size_t)(payload - response));
  printf("}\n");
  return 0;
}
