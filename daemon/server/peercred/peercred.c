/*
 * kgentd's one native function: the credentials the kernel recorded for the peer of a connected
 * Unix socket (SO_PEERCRED: pid, uid, gid at connect() time; SO_PEERGROUPS: its supplementary
 * groups). Node has no API for either. N-API only (stable ABI across Node versions), no C++.
 *
 *   peerCred(fd) -> { pid, uid, gid, groups: number[] | null }
 *
 * `groups` is null when the kernel lacks SO_PEERGROUPS (before Linux 4.13); the caller then falls
 * back to the group database. Errors are thrown as JS errors carrying the errno name in `code`.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <errno.h>
#include <stdio.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  const char *code = err == EBADF ? "EBADF" : err == ENOTSOCK ? "ENOTSOCK" : err == ENOTCONN ? "ENOTCONN"
                   : err == ENOPROTOOPT ? "ENOPROTOOPT" : err == EINVAL ? "EINVAL" : "EIO";
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

static napi_value set_int(napi_env env, napi_value obj, const char *name, int64_t v) {
  napi_value n;
  if (napi_create_int64(env, v, &n) != napi_ok) return NULL;
  if (napi_set_named_property(env, obj, name, n) != napi_ok) return NULL;
  return obj;
}

static napi_value peer_groups(napi_env env, int fd) {
  napi_value out;
  socklen_t len = 64 * sizeof(gid_t);
  gid_t *groups = NULL;
  for (int tries = 0; tries < 3; tries++) {
    gid_t *grown = realloc(groups, len);
    if (!grown) break;
    groups = grown;
    socklen_t got = len;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &got) == 0) {
      size_t n = got / sizeof(gid_t);
      napi_create_array_with_length(env, n, &out);
      for (size_t i = 0; i < n; i++) {
        napi_value g;
        napi_create_int64(env, groups[i], &g);
        napi_set_element(env, out, (uint32_t)i, g);
      }
      free(groups);
      return out;
    }
    if (errno != ERANGE) break;
    len = got > len ? got : len * 4;  // ERANGE: the kernel wrote the size it needs into got
  }
  free(groups);
  napi_get_null(env, &out);
  return out;
}

static napi_value peer_cred(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "EINVAL", "peerCred(fd): fd must be a non-negative integer");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  if (len != sizeof cred) return throw_errno(env, "getsockopt(SO_PEERCRED) returned a short struct", EIO);
  napi_value obj;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  if (!set_int(env, obj, "pid", cred.pid) || !set_int(env, obj, "uid", cred.uid) || !set_int(env, obj, "gid", cred.gid)) return NULL;
  if (napi_set_named_property(env, obj, "groups", peer_groups(env, fd)) != napi_ok) return NULL;
  return obj;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "peerCred", NAPI_AUTO_LENGTH, peer_cred, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "peerCred", fn) != napi_ok) return NULL;
  return exports;
}
