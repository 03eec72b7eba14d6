// Graph functions on the eager context of @tensorflow/tfjs-node's binding. `simdeblur setup`
// compiles this file into the binding together with tfjs_collective.cc (src/setup/collective.ts).
// src/runtime/graph-function.ts records the ops a piece of tensor code runs; this file turns the
// record into a TF_Graph, then into a function registered in the context, so that one
// executeOp(name) runs them all: TensorFlow then optimises the graph (Grappler), runs independent
// ops in parallel and frees each intermediate when its last reader is done.
//
// Exports (on the binding object):
//   buildGraphFunction(name: string, nodes: Node[], outputs: Int32Array): void
//     Node is one of
//       { kind: 0, dtype, shape }                     a function argument (Placeholder)
//       { kind: 1, dtype, shape, data: TypedArray }   a constant
//       { kind: 2, op, attrs, inputs: Int32Array, lists: Int32Array }
//         an op with tfjs-style attributes ({name, type, value}); `inputs` holds (node, output)
//         pairs; `lists` the size of each input argument: -1 for one tensor, n >= 0 for a list
//         of n (consecutive pairs).
//     outputs: (node, output) pairs. Arguments are the kind-0 nodes in order.
//   removeGraphFunction(name: string): void
#include <node_api.h>

#include <cstring>
#include <string>
#include <vector>

#include "tensorflow/c/c_api.h"
#include "tensorflow/c/eager/c_api.h"
#include "tfjs_backend.h"

namespace tfnodejs {

namespace {

bool Fail(napi_env env, const std::string &message) {
  napi_throw_error(env, nullptr, message.c_str());
  return false;
}

napi_value Throw(napi_env env, const std::string &message) {
  napi_throw_error(env, nullptr, message.c_str());
  return nullptr;
}

bool TfOk(napi_env env, TF_Status *status, const std::string &what) {
  if (TF_GetCode(status) == TF_OK) return true;
  return Fail(env, what + ": " + TF_Message(status));
}

bool Prop(napi_env env, napi_value obj, const char *name, napi_value *out) {
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return Fail(env, std::string("missing ") + name);
  return true;
}

bool Int(napi_env env, napi_value v, int64_t *out) {
  if (napi_get_value_int64(env, v, out) != napi_ok) return Fail(env, "expected a number");
  return true;
}

bool Str(napi_env env, napi_value v, std::string *out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &len) != napi_ok) return Fail(env, "expected a string");
  out->resize(len);
  std::vector<char> buf(len + 1);
  napi_get_value_string_utf8(env, v, buf.data(), len + 1, &len);
  out->assign(buf.data(), len);
  return true;
}

bool Ints(napi_env env, napi_value v, std::vector<int64_t> *out) {
  bool typed = false;
  napi_is_typedarray(env, v, &typed);
  if (typed) {
    napi_typedarray_type type;
    size_t length;
    void *data;
    napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr);
    if (type != napi_int32_array) return Fail(env, "expected an Int32Array");
    const int32_t *p = static_cast<const int32_t *>(data);
    out->assign(p, p + length);
    return true;
  }
  uint32_t n = 0;
  if (napi_get_array_length(env, v, &n) != napi_ok) return Fail(env, "expected an array");
  out->resize(n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, v, i, &e);
    if (!Int(env, e, &(*out)[i])) return false;
  }
  return true;
}

bool IsArray(napi_env env, napi_value v) {
  bool a = false;
  napi_is_array(env, v, &a);
  return a;
}

// One tfjs op attribute ({name, type, value}) on an operation description.
bool SetAttr(napi_env env, TF_OperationDescription *desc, napi_value attr) {
  napi_value nameV, typeV, value;
  if (!Prop(env, attr, "name", &nameV) || !Prop(env, attr, "type", &typeV) || !Prop(env, attr, "value", &value)) return false;
  std::string name;
  int64_t type = 0;
  if (!Str(env, nameV, &name) || !Int(env, typeV, &type)) return false;
  const char *n = name.c_str();
  switch (static_cast<TF_AttrType>(type)) {
    case TF_ATTR_STRING: {
      std::string s;
      if (!Str(env, value, &s)) return false;
      TF_SetAttrString(desc, n, s.data(), s.size());
      return true;
    }
    case TF_ATTR_INT: {
      if (IsArray(env, value)) {
        std::vector<int64_t> v;
        if (!Ints(env, value, &v)) return false;
        TF_SetAttrIntList(desc, n, v.data(), static_cast<int>(v.size()));
      } else {
        int64_t v;
        if (!Int(env, value, &v)) return false;
        TF_SetAttrInt(desc, n, v);
      }
      return true;
    }
    case TF_ATTR_FLOAT: {
      if (IsArray(env, value)) {
        uint32_t len = 0;
        napi_get_array_length(env, value, &len);
        std::vector<float> v(len);
        for (uint32_t i = 0; i < len; i++) {
          napi_value e;
          double d;
          napi_get_element(env, value, i, &e);
          napi_get_value_double(env, e, &d);
          v[i] = static_cast<float>(d);
        }
        TF_SetAttrFloatList(desc, n, v.data(), static_cast<int>(len));
      } else {
        double d;
        napi_get_value_double(env, value, &d);
        TF_SetAttrFloat(desc, n, static_cast<float>(d));
      }
      return true;
    }
    case TF_ATTR_BOOL: {
      if (IsArray(env, value)) {
        uint32_t len = 0;
        napi_get_array_length(env, value, &len);
        std::vector<unsigned char> v(len);
        for (uint32_t i = 0; i < len; i++) {
          napi_value e;
          bool b;
          napi_get_element(env, value, i, &e);
          napi_get_value_bool(env, e, &b);
          v[i] = b ? 1 : 0;
        }
        TF_SetAttrBoolList(desc, n, v.data(), static_cast<int>(len));
      } else {
        bool b;
        napi_get_value_bool(env, value, &b);
        TF_SetAttrBool(desc, n, b ? 1 : 0);
      }
      return true;
    }
    case TF_ATTR_TYPE: {
      int64_t t;
      if (!Int(env, value, &t)) return false;
      TF_SetAttrType(desc, n, static_cast<TF_DataType>(t));
      return true;
    }
    case TF_ATTR_SHAPE: {
      std::vector<int64_t> dims;
      if (!Ints(env, value, &dims)) return false;
      TF_SetAttrShape(desc, n, dims.data(), static_cast<int>(dims.size()));
      return true;
    }
    default:
      return Fail(env, "attribute " + name + ": unsupported type " + std::to_string(type));
  }
}

struct Graph {
  TF_Graph *graph = TF_NewGraph();
  TF_Status *status = TF_NewStatus();
  ~Graph() {
    TF_DeleteStatus(status);
    TF_DeleteGraph(graph);
  }
};

bool Output(napi_env env, const std::vector<TF_Operation *> &ops, int64_t node, int64_t index, TF_Output *out) {
  if (node < 0 || node >= static_cast<int64_t>(ops.size())) return Fail(env, "input refers to node " + std::to_string(node) + " before it exists");
  *out = TF_Output{ops[node], static_cast<int>(index)};
  return true;
}

napi_value BuildGraphFunction(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  if (argc < 3) {
    Fail(env, "buildGraphFunction(name, nodes, outputs)");
    return nullptr;
  }
  std::string fname;
  if (!Str(env, args[0], &fname)) return nullptr;
  uint32_t count = 0;
  if (napi_get_array_length(env, args[1], &count) != napi_ok) return Throw(env, "nodes must be an array");
  Graph g;
  std::vector<TF_Operation *> ops;
  std::vector<TF_Output> params;
  ops.reserve(count);
  for (uint32_t i = 0; i < count; i++) {
    napi_value node, kindV;
    napi_get_element(env, args[1], i, &node);
    if (!Prop(env, node, "kind", &kindV)) return nullptr;
    int64_t kind = 0;
    if (!Int(env, kindV, &kind)) return nullptr;
    const std::string opName = "n" + std::to_string(i);
    TF_OperationDescription *desc = nullptr;
    if (kind == 0 || kind == 1) {
      napi_value dtypeV, shapeV;
      int64_t dtype = 0;
      std::vector<int64_t> shape;
      if (!Prop(env, node, "dtype", &dtypeV) || !Int(env, dtypeV, &dtype) || !Prop(env, node, "shape", &shapeV) || !Ints(env, shapeV, &shape)) return nullptr;
      if (kind == 0) {
        desc = TF_NewOperation(g.graph, "Placeholder", opName.c_str());
        TF_SetAttrType(desc, "dtype", static_cast<TF_DataType>(dtype));
        TF_SetAttrShape(desc, "shape", shape.data(), static_cast<int>(shape.size()));
      } else {
        napi_value dataV;
        if (!Prop(env, node, "data", &dataV)) return nullptr;
        napi_typedarray_type type;
        size_t length;
        void *data;
        napi_value buffer;
        size_t offset;
        if (napi_get_typedarray_info(env, dataV, &type, &length, &data, &buffer, &offset) != napi_ok) return Throw(env, "constant data must be a typed array");
        size_t elem = 4;
        if (type == napi_uint8_array || type == napi_int8_array) elem = 1;
        const size_t bytes = length * elem;
        TF_Tensor *t = TF_AllocateTensor(static_cast<TF_DataType>(dtype), shape.data(), static_cast<int>(shape.size()), bytes);
        if (t == nullptr || TF_TensorByteSize(t) != bytes) {
          if (t) TF_DeleteTensor(t);
          return Throw(env, "constant " + std::to_string(i) + ": data size does not match its shape and type");
        }
        std::memcpy(TF_TensorData(t), data, bytes);
        desc = TF_NewOperation(g.graph, "Const", opName.c_str());
        TF_SetAttrType(desc, "dtype", static_cast<TF_DataType>(dtype));
        TF_SetAttrTensor(desc, "value", t, g.status);
        TF_DeleteTensor(t);
        if (!TfOk(env, g.status, "constant " + std::to_string(i))) return nullptr;
      }
    } else {
      napi_value opV, attrsV, inputsV, listsV;
      std::string op;
      std::vector<int64_t> inputs, lists;
      if (!Prop(env, node, "op", &opV) || !Str(env, opV, &op) || !Prop(env, node, "attrs", &attrsV) || !Prop(env, node, "inputs", &inputsV) ||
          !Ints(env, inputsV, &inputs) || !Prop(env, node, "lists", &listsV) || !Ints(env, listsV, &lists))
        return nullptr;
      desc = TF_NewOperation(g.graph, op.c_str(), opName.c_str());
      size_t at = 0;
      for (int64_t n : lists) {
        if (n < 0) {
          TF_Output o;
          if (at + 2 > inputs.size()) return Throw(env, op + ": fewer inputs than its arguments");
          if (!Output(env, ops, inputs[at], inputs[at + 1], &o)) return nullptr;
          TF_AddInput(desc, o);
          at += 2;
        } else {
          std::vector<TF_Output> list(n);
          for (int64_t k = 0; k < n; k++) {
            if (at + 2 > inputs.size()) return Throw(env, op + ": fewer inputs than its arguments");
            if (!Output(env, ops, inputs[at], inputs[at + 1], &list[k])) return nullptr;
            at += 2;
          }
          TF_AddInputList(desc, list.data(), static_cast<int>(n));
        }
      }
      uint32_t nattrs = 0;
      napi_get_array_length(env, attrsV, &nattrs);
      for (uint32_t k = 0; k < nattrs; k++) {
        napi_value a;
        napi_get_element(env, attrsV, k, &a);
        if (!SetAttr(env, desc, a)) return nullptr;
      }
    }
    TF_Operation *oper = TF_FinishOperation(desc, g.status);
    if (!TfOk(env, g.status, "graph node " + std::to_string(i))) return nullptr;
    ops.push_back(oper);
    if (kind == 0) params.push_back(TF_Output{oper, 0});
  }
  std::vector<int64_t> outs;
  if (!Ints(env, args[2], &outs)) return nullptr;
  std::vector<TF_Output> results(outs.size() / 2);
  for (size_t k = 0; k < results.size(); k++) {
    if (!Output(env, ops, outs[2 * k], outs[2 * k + 1], &results[k])) return nullptr;
  }
  TF_Function *fn = TF_GraphToFunction(g.graph, fname.c_str(), 0, -1, nullptr, static_cast<int>(params.size()), params.data(), static_cast<int>(results.size()),
                                       results.data(), nullptr, nullptr, nullptr, g.status);
  if (!TfOk(env, g.status, "TF_GraphToFunction")) return nullptr;
  TFJSBackend *backend = nullptr;
  if (napi_get_instance_data(env, reinterpret_cast<void **>(&backend)) != napi_ok || backend == nullptr) {
    TF_DeleteFunction(fn);
    return Throw(env, "tfjs binding: no backend instance");
  }
  TFE_ContextAddFunction(backend->collective_context(), fn, g.status);
  TF_DeleteFunction(fn);
  if (!TfOk(env, g.status, "TFE_ContextAddFunction")) return nullptr;
  return nullptr;
}

napi_value RemoveGraphFunction(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  std::string fname;
  if (argc < 1 || !Str(env, args[0], &fname)) return nullptr;
  TFJSBackend *backend = nullptr;
  if (napi_get_instance_data(env, reinterpret_cast<void **>(&backend)) != napi_ok || backend == nullptr) return Throw(env, "tfjs binding: no backend instance");
  TF_Status *status = TF_NewStatus();
  TFE_ContextRemoveFunction(backend->collective_context(), fname.c_str(), status);
  TfOk(env, status, "TFE_ContextRemoveFunction");
  TF_DeleteStatus(status);
  return nullptr;
}

}  // namespace

void RegisterGraphFunctions(napi_env env, napi_value exports) {
  napi_value f;
  napi_create_function(env, "buildGraphFunction", NAPI_AUTO_LENGTH, BuildGraphFunction, nullptr, &f);
  napi_set_named_property(env, exports, "buildGraphFunction", f);
  napi_create_function(env, "removeGraphFunction", NAPI_AUTO_LENGTH, RemoveGraphFunction, nullptr, &f);
  napi_set_named_property(env, exports, "removeGraphFunction", f);
}

}  // namespace tfnodejs
