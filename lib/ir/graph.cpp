// Graph queries and rewrites used by every stage.

#include "ir/graph.h"

#include <algorithm>
#include <deque>
#include <set>

#include "common/error.h"

namespace bpu::ir {

const char* elem_type_name(ElemType t) {
  switch (t) {
    case ElemType::Float: return "float32";
    case ElemType::Uint8: return "uint8";
    case ElemType::Int8: return "int8";
    case ElemType::Int16: return "int16";
    case ElemType::Int32: return "int32";
    case ElemType::Int64: return "int64";
    case ElemType::Bool: return "bool";
    case ElemType::Double: return "float64";
  }
  return "?";
}

int64_t Tensor::element_count() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const Attribute* Node::attr(std::string_view key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? nullptr : &it->second;
}

int64_t Node::attr_int(const std::string& key, int64_t fallback) const {
  const Attribute* a = attr(key);
  return a && a->kind == Attribute::Kind::Int ? a->i : fallback;
}

std::vector<int64_t> Node::attr_ints(const std::string& key, std::vector<int64_t> fallback) const {
  const Attribute* a = attr(key);
  return a && a->kind == Attribute::Kind::Ints ? a->ints : fallback;
}

std::string Node::attr_string(const std::string& key, const std::string& fallback) const {
  const Attribute* a = attr(key);
  return a && a->kind == Attribute::Kind::String ? a->s : fallback;
}

Tensor& Graph::tensor(const std::string& name) {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(ExitCode::Internal, "unknown tensor '" + name + "'");
  return it->second;
}

const Tensor& Graph::tensor(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) throw Error(ExitCode::Internal, "unknown tensor '" + name + "'");
  return it->second;
}

int Graph::producer(const std::string& name) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& o : nodes[i].outputs) {
      if (o == name) return static_cast<int>(i);
    }
  }
  return -1;
}

std::vector<int> Graph::consumers(const std::string& name) const {
  std::vector<int> out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (std::find(nodes[i].inputs.begin(), nodes[i].inputs.end(), name) != nodes[i].inputs.end()) {
      out.push_back(static_cast<int>(i));
    }
  }
  return out;
}

bool Graph::is_graph_output(const std::string& name) const {
  return std::find(outputs.begin(), outputs.end(), name) != outputs.end();
}

void Graph::replace_uses_all(const std::map<std::string, std::string>& renames) {
  if (renames.empty()) return;
  auto resolve = [&](std::string name) {
    for (int hops = 0; hops < 1024; ++hops) {
      auto it = renames.find(name);
      if (it == renames.end()) break;
      name = it->second;
    }
    return name;
  };
  for (auto& n : nodes) {
    for (auto& in : n.inputs) in = resolve(in);
  }
  for (auto& o : outputs) o = resolve(o);
}

std::map<std::string, std::vector<int>> Graph::consumer_index() const {
  std::map<std::string, std::vector<int>> index;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& in : nodes[i].inputs) {
      auto& v = index[in];
      if (v.empty() || v.back() != static_cast<int>(i)) v.push_back(static_cast<int>(i));
    }
  }
  return index;
}

std::map<std::string, int> Graph::producer_index() const {
  std::map<std::string, int> index;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& o : nodes[i].outputs) index[o] = static_cast<int>(i);
  }
  return index;
}

void Graph::remove_nodes(const std::vector<bool>& remove) {
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!remove[i]) kept.push_back(std::move(nodes[i]));
  }
  nodes = std::move(kept);
  std::set<std::string> used(inputs.begin(), inputs.end());
  used.insert(outputs.begin(), outputs.end());
  for (const auto& n : nodes) {
    used.insert(n.inputs.begin(), n.inputs.end());
    used.insert(n.outputs.begin(), n.outputs.end());
  }
  for (auto it = tensors.begin(); it != tensors.end();) {
    it = used.count(it->first) ? std::next(it) : tensors.erase(it);
  }
}

void Graph::topological_sort() {
  std::map<std::string, int> producer_of;
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (const auto& o : nodes[i].outputs) producer_of[o] = static_cast<int>(i);
  }
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> users(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::set<int> deps;
    for (const auto& in : nodes[i].inputs) {
      auto it = producer_of.find(in);
      if (it != producer_of.end() && it->second != static_cast<int>(i)) deps.insert(it->second);
    }
    pending[i] = static_cast<int>(deps.size());
    for (int d : deps) users[d].push_back(static_cast<int>(i));
  }
  // Kahn's algorithm, always taking the lowest original index first so the order is deterministic and
  // stays as close to the model's order as possible.
  std::set<int> ready;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (pending[i] == 0) ready.insert(static_cast<int>(i));
  }
  std::vector<Node> sorted;
  while (!ready.empty()) {
    int i = *ready.begin();
    ready.erase(ready.begin());
    sorted.push_back(nodes[i]);
    for (int u : users[i]) {
      if (--pending[u] == 0) ready.insert(u);
    }
  }
  if (sorted.size() != nodes.size()) {
    throw Error(ExitCode::Model, "graph of '" + source_path + "' has a cycle; ONNX graphs must be acyclic");
  }
  nodes = std::move(sorted);
}

}  // namespace bpu::ir
