// Collective ops on the eager context of @tensorflow/tfjs-node's binding. `simdeblur setup`
// copies this file next to the binding's own sources, registers it in binding.gyp and makes
// two small insertions (an accessor in TFJSBackend, a call in the module initialiser), so that
// all-reduces run as ordinary ops on tfjs tensors (see docs/distributed.md).
//
// Exports (on the binding object):
//   enableCollectiveOps(serverDef: Uint8Array): string[]
//     Starts TensorFlow's gRPC server for this process from a serialised tensorflow.ServerDef
//     and enables collective ops on the context; returns the context's devices afterwards. New
//     tensors are placed on the renamed local device from then on.
//   abortCollectiveOps(message: string): void
//     Fails pending and later collectives with UNAVAILABLE(message).
//   checkCollectivePeerHealth(task: string, timeoutMs: number): void
//     Throws when the task (e.g. "/job:worker/replica:0/task:1") does not answer in time.
//   collectiveDevice(): string
//     The device new tensors are placed on.
#include <node_api.h>

#include <string>
#include <vector>

#include "tensorflow/c/c_api.h"
#include "tensorflow/c/c_api_experimental.h"
#include "tensorflow/c/eager/c_api.h"
#include "tfjs_backend.h"

namespace tfnodejs {

namespace {

TFJSBackend *Backend(napi_env env) {
  TFJSBackend *backend = nullptr;
  if (napi_get_instance_data(env, reinterpret_cast<void **>(&backend)) != napi_ok || backend == nullptr) {
    napi_throw_error(env, nullptr, "tfjs binding: no backend instance");
    return nullptr;
  }
  return backend;
}

// Throws a JS error carrying TensorFlow's code and message; returns false when it did.
bool Check(napi_env env, TF_Status *status, const char *what) {
  if (TF_GetCode(status) == TF_OK) return true;
  std::string message = std::string(what) + " failed (TF code " + std::to_string(TF_GetCode(status)) + "): " + TF_Message(status);
  napi_value msg, err, code;
  napi_create_string_utf8(env, message.c_str(), message.size(), &msg);
  napi_create_error(env, nullptr, msg, &err);
  napi_create_int32(env, TF_GetCode(status), &code);
  napi_set_named_property(env, err, "tfCode", code);
  napi_throw(env, err);
  return false;
}

bool Args(napi_env env, napi_callback_info info, size_t want, napi_value *args) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, args, nullptr, nullptr) != napi_ok || argc < want) {
    napi_throw_type_error(env, nullptr, ("expected " + std::to_string(want) + " argument(s)").c_str());
    return false;
  }
  return true;
}

bool StringArg(napi_env env, napi_value v, std::string *out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "expected a string");
    return false;
  }
  out->resize(len + 1);
  napi_get_value_string_utf8(env, v, &(*out)[0], len + 1, &len);
  out->resize(len);
  return true;
}

// The context's devices, by name.
std::vector<std::string> Devices(napi_env env, TFE_Context *ctx) {
  std::vector<std::string> names;
  TF_Status *status = TF_NewStatus();
  TF_DeviceList *list = TFE_ContextListDevices(ctx, status);
  if (Check(env, status, "listing devices")) {
    const int n = TF_DeviceListCount(list);
    for (int i = 0; i < n; i++) names.emplace_back(TF_DeviceListName(list, i, status));
    TF_DeleteDeviceList(list);
  }
  TF_DeleteStatus(status);
  return names;
}

// "/job:localhost/replica:0/task:0/device:CPU:0" -> "/device:CPU:0".
std::string DevicePart(const std::string &name) {
  const size_t at = name.find("/device:");
  return at == std::string::npos ? name : name.substr(at);
}

napi_value StringArray(napi_env env, const std::vector<std::string> &items) {
  napi_value arr;
  napi_create_array_with_length(env, items.size(), &arr);
  for (size_t i = 0; i < items.size(); i++) {
    napi_value s;
    napi_create_string_utf8(env, items[i].c_str(), items[i].size(), &s);
    napi_set_element(env, arr, i, s);
  }
  return arr;
}

napi_value EnableCollectiveOps(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!Args(env, info, 1, args)) return nullptr;
  bool is_typed = false;
  napi_is_typedarray(env, args[0], &is_typed);
  if (!is_typed) {
    napi_throw_type_error(env, nullptr, "enableCollectiveOps: expected the serialised ServerDef as a Uint8Array");
    return nullptr;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void *data = nullptr;
  napi_get_typedarray_info(env, args[0], &type, &length, &data, nullptr, nullptr);
  if (type != napi_uint8_array) {
    napi_throw_type_error(env, nullptr, "enableCollectiveOps: expected a Uint8Array");
    return nullptr;
  }
  TFJSBackend *backend = Backend(env);
  if (backend == nullptr) return nullptr;
  TFE_Context *ctx = backend->collective_context();
  TF_Status *status = TF_NewStatus();
  TFE_EnableCollectiveOps(ctx, data, length, status);
  const bool ok = Check(env, status, "TFE_EnableCollectiveOps");
  TF_DeleteStatus(status);
  if (!ok) return nullptr;
  // The local devices are renamed after the job and task of the ServerDef; keep placing new
  // tensors on the same kind of device as before.
  std::vector<std::string> devices = Devices(env, ctx);
  std::string &current = backend->collective_device_name();
  const std::string part = DevicePart(current);
  for (const std::string &d : devices) {
    if (DevicePart(d) == part) {
      current = d;
      break;
    }
  }
  return StringArray(env, devices);
}

napi_value AbortCollectiveOps(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!Args(env, info, 1, args)) return nullptr;
  std::string message;
  if (!StringArg(env, args[0], &message)) return nullptr;
  TFJSBackend *backend = Backend(env);
  if (backend == nullptr) return nullptr;
  TF_Status *status = TF_NewStatus();
  TF_SetStatus(status, TF_UNAVAILABLE, message.c_str());
  TFE_AbortCollectiveOps(backend->collective_context(), status);
  TF_DeleteStatus(status);
  return nullptr;
}

napi_value CheckCollectivePeerHealth(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!Args(env, info, 2, args)) return nullptr;
  std::string task;
  if (!StringArg(env, args[0], &task)) return nullptr;
  int64_t timeout_ms = 0;
  if (napi_get_value_int64(env, args[1], &timeout_ms) != napi_ok) {
    napi_throw_type_error(env, nullptr, "checkCollectivePeerHealth: timeoutMs must be a number");
    return nullptr;
  }
  TFJSBackend *backend = Backend(env);
  if (backend == nullptr) return nullptr;
  TF_Status *status = TF_NewStatus();
  TFE_CollectiveOpsCheckPeerHealth(backend->collective_context(), task.c_str(), timeout_ms, status);
  Check(env, status, ("health check of " + task).c_str());
  TF_DeleteStatus(status);
  return nullptr;
}

napi_value CollectiveDevice(napi_env env, napi_callback_info info) {
  TFJSBackend *backend = Backend(env);
  if (backend == nullptr) return nullptr;
  const std::string &name = backend->collective_device_name();
  napi_value s;
  napi_create_string_utf8(env, name.c_str(), name.size(), &s);
  return s;
}

}  // namespace

void RegisterCollectiveOps(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"enableCollectiveOps", nullptr, EnableCollectiveOps, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"abortCollectiveOps", nullptr, AbortCollectiveOps, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"checkCollectivePeerHealth", nullptr, CheckCollectivePeerHealth, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"collectiveDevice", nullptr, CollectiveDevice, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace tfnodejs
