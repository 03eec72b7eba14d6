// Preloaded into distributed training workers (LD_PRELOAD): TensorFlow's gRPC server always
// listens on the wildcard address of its port ("0.0.0.0:<port>", dual-stack), whatever host the
// cluster names. This bind() narrows that one listening socket to the host given in
// SIMDEBLUR_BIND_HOST (a numeric IPv4 or IPv6 address) for port SIMDEBLUR_BIND_PORT; every
// other bind() is passed through untouched.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

static int wildcard_port(const struct sockaddr *addr, socklen_t len, int *port) {
  if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
    *port = ntohs(a->sin_port);
    return a->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
    *port = ntohs(a->sin6_port);
    return memcmp(&a->sin6_addr, &in6addr_any, sizeof(struct in6_addr)) == 0;
  }
  return 0;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  static bind_fn real = NULL;
  if (real == NULL) real = (bind_fn)dlsym(RTLD_NEXT, "bind");
  const char *host = getenv("SIMDEBLUR_BIND_HOST");
  const char *want = getenv("SIMDEBLUR_BIND_PORT");
  int port = -1;
  if (host == NULL || want == NULL || addr == NULL || !wildcard_port(addr, len, &port) || port != atoi(want)) return real(fd, addr, len);
  struct in_addr v4;
  struct in6_addr v6;
  if (addr->sa_family == AF_INET) {
    struct sockaddr_in a;
    memcpy(&a, addr, sizeof a);
    if (inet_pton(AF_INET, host, &v4) != 1) return real(fd, addr, len);
    a.sin_addr = v4;
    return real(fd, (const struct sockaddr *)&a, sizeof a);
  }
  struct sockaddr_in6 a;
  memcpy(&a, addr, sizeof a);
  if (inet_pton(AF_INET6, host, &v6) == 1) {
    a.sin6_addr = v6;
  } else if (inet_pton(AF_INET, host, &v4) == 1) {
    // An IPv4 host on a dual-stack socket: its IPv4-mapped address (::ffff:a.b.c.d).
    memset(&a.sin6_addr, 0, sizeof a.sin6_addr);
    a.sin6_addr.s6_addr[10] = 0xff;
    a.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&a.sin6_addr.s6_addr[12], &v4, 4);
  } else {
    return real(fd, addr, len);
  }
  return real(fd, (const struct sockaddr *)&a, sizeof a);
}
