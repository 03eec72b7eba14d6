// Holds back what native code writes to file descriptor 2 for a while, so that TensorFlow's
// start-up messages (printed by absl while the library loads, before TensorFlow reads
// TF_CPP_MIN_LOG_LEVEL) can be filtered. JavaScript's process.stderr cannot do this: the
// library writes to the descriptor directly.
//
//   begin(path) -> boolean   send fd 2 to a new file at path (unlinked at once); false if not possible
//   end()       -> string    put fd 2 back and return what was written meanwhile
#include <node_api.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int saved_fd = -1;   // the real stderr while capturing
static int capture_fd = -1; // the file receiving it
static struct sigaction previous_abort;

static void write_all(int fd, const char* buf, ssize_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, (size_t)n);
    if (w <= 0) return;
    buf += w;
    n -= w;
  }
}

// A fatal error while capturing (TensorFlow aborts on failed checks): show everything held
// back, unfiltered, so the reason is not lost; abort() then proceeds with the old handler.
static void on_abort(int sig) {
  (void)sig;
  if (saved_fd >= 0 && capture_fd >= 0) {
    dup2(saved_fd, 2);
    char buf[4096];
    ssize_t n;
    lseek(capture_fd, 0, SEEK_SET);
    while ((n = read(capture_fd, buf, sizeof buf)) > 0) write_all(2, buf, n);
  }
  sigaction(SIGABRT, &previous_abort, NULL);
}

static napi_value make_bool(napi_env env, bool v) {
  napi_value out;
  napi_get_boolean(env, v, &out);
  return out;
}

static napi_value begin(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  size_t len = 0;
  if (saved_fd >= 0) return make_bool(env, false); // already capturing
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return make_bool(env, false);
  if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len == 0 || len >= sizeof path - 1)
    return make_bool(env, false);
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return make_bool(env, false);
  unlink(path);
  fflush(stderr);
  int saved = dup(2);
  if (saved < 0 || dup2(fd, 2) < 0) {
    if (saved >= 0) close(saved);
    close(fd);
    return make_bool(env, false);
  }
  saved_fd = saved;
  capture_fd = fd;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_abort;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGABRT, &sa, &previous_abort);
  return make_bool(env, true);
}

static napi_value end(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  if (saved_fd < 0) {
    napi_create_string_utf8(env, "", 0, &out);
    return out;
  }
  fflush(stderr);
  dup2(saved_fd, 2);
  close(saved_fd);
  saved_fd = -1;
  sigaction(SIGABRT, &previous_abort, NULL);

  off_t size = lseek(capture_fd, 0, SEEK_END);
  char* buf = size > 0 ? malloc((size_t)size) : NULL;
  size_t got = 0;
  if (buf != NULL) {
    lseek(capture_fd, 0, SEEK_SET);
    while (got < (size_t)size) {
      ssize_t n = read(capture_fd, buf + got, (size_t)size - got);
      if (n <= 0) break;
      got += (size_t)n;
    }
  }
  close(capture_fd);
  capture_fd = -1;
  napi_create_string_utf8(env, buf != NULL ? buf : "", got, &out);
  free(buf);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "begin", NAPI_AUTO_LENGTH, begin, NULL, &fn);
  napi_set_named_property(env, exports, "begin", fn);
  napi_create_function(env, "end", NAPI_AUTO_LENGTH, end, NULL, &fn);
  napi_set_named_property(env, exports, "end", fn);
  return exports;
}
