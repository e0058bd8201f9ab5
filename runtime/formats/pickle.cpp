#include "runtime/formats/pickle.h"

#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <unordered_map>

#include "mamba2/error.h"

namespace mamba2 {
namespace {

// Far above what a state dict needs (a few values per tensor), far below memory trouble.
constexpr size_t kMaxStack = size_t{1} << 22;
constexpr size_t kMaxMemo = size_t{1} << 22;
constexpr size_t kMaxRank = 8;
constexpr size_t kMaxGlobalName = 256;

enum class Kind : uint8_t {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,   // ref: strings_
  kTuple,    // ref: sequences_
  kList,     // ref: sequences_
  kDict,     // ref: dicts_
  kGlobal,   // number: Global
  kStorage,  // ref: storages_
  kTensor,   // ref: tensors_
};

enum class Global : int64_t {
  kOrderedDict,
  kRebuildTensorV2,
  kStorageF32,
  kStorageF16,
  kStorageBF16
};

// Containers and strings live in the parser's arenas and values refer to them by index: BINGET
// then copies a few bytes whatever it refers to, nothing is freed recursively, and a pickle that
// puts a dict inside itself makes no reference cycle.
struct Value {
  Kind kind = Kind::kNone;
  int64_t number = 0;  // kBool, kInt, kGlobal
  double real = 0.0;   // kFloat
  uint32_t ref = 0;    // index into the arena of its kind
};

struct Storage {
  std::string key;
  DType dtype;
  int64_t numel;
};

struct Tensor {
  uint32_t storage;
  int64_t offset;
  std::vector<int64_t> shape;
};

class Parser {
 public:
  Parser(std::span<const std::byte> bytes, const std::string& where)
      : bytes_(bytes), where_(where) {}

  std::vector<PickledTensor> parse_state_dict() {
    const Value root = run();
    if (root.kind != Kind::kDict) fail("the pickle is not a dict of tensors");
    std::vector<PickledTensor> out;
    std::set<std::string> names;
    for (const auto& [key, value] : dicts_[root.ref]) {
      if (key.kind != Kind::kString) fail("a state dict key is not a string");
      const std::string& name = strings_[key.ref];
      if (value.kind != Kind::kTensor) fail("state dict entry '" + name + "' is not a tensor");
      if (!names.insert(name).second) fail("tensor '" + name + "' appears twice");
      const Tensor& tensor = tensors_[value.ref];
      const Storage& storage = storages_[tensor.storage];
      out.push_back(PickledTensor{name, storage.key, storage.dtype, storage.numel, tensor.offset,
                                  tensor.shape});
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw Error(where_, "pickle: " + why); }

  // --- reading the byte stream ---
  const std::byte* take(size_t n) {
    if (n > bytes_.size() - pos_) {
      fail("truncated: needs " + std::to_string(n) + " bytes at byte " + std::to_string(pos_) +
           " of " + std::to_string(bytes_.size()));
    }
    const std::byte* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint64_t read_le(size_t n) {
    const std::byte* p = take(n);
    uint64_t value = 0;
    for (size_t i = n; i-- > 0;) value = (value << 8) | std::to_integer<uint64_t>(p[i]);
    return value;
  }
  std::string read_string(size_t n) {
    const auto* p = reinterpret_cast<const char*>(take(n));
    return std::string(p, n);
  }
  std::string read_line() {
    for (size_t end = pos_; end < bytes_.size() && end - pos_ <= kMaxGlobalName; ++end) {
      if (bytes_[end] == std::byte{'\n'}) {
        std::string line = read_string(end - pos_);
        take(1);
        return line;
      }
    }
    fail("truncated or overlong GLOBAL name at byte " + std::to_string(pos_));
  }

  // --- the stack ---
  void push(Value value) {
    if (stack_.size() >= kMaxStack) fail("stack is deeper than " + std::to_string(kMaxStack));
    stack_.push_back(value);
  }
  Value pop() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
      fail("stack underflow at byte " + std::to_string(pos_));
    }
    Value value = stack_.back();
    stack_.pop_back();
    return value;
  }
  Value& top() {
    if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) {
      fail("stack underflow at byte " + std::to_string(pos_));
    }
    return stack_.back();
  }
  std::vector<Value> pop_to_mark() {
    if (marks_.empty()) fail("no MARK before byte " + std::to_string(pos_));
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(stack_.begin() + static_cast<ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }

  // --- building values ---
  Value make_string(std::string s) {
    strings_.push_back(std::move(s));
    return Value{Kind::kString, 0, 0.0, static_cast<uint32_t>(strings_.size() - 1)};
  }
  Value make_sequence(Kind kind, std::vector<Value> items) {
    sequences_.push_back(std::move(items));
    return Value{kind, 0, 0.0, static_cast<uint32_t>(sequences_.size() - 1)};
  }
  Value make_dict() {
    dicts_.emplace_back();
    return Value{Kind::kDict, 0, 0.0, static_cast<uint32_t>(dicts_.size() - 1)};
  }
  static Value make_int(int64_t v) { return Value{Kind::kInt, v, 0.0, 0}; }

  Value make_global(const std::string& module, const std::string& name) {
    static const std::pair<const char*, Global> kAllowed[] = {
        {"collections.OrderedDict", Global::kOrderedDict},
        {"torch._utils._rebuild_tensor_v2", Global::kRebuildTensorV2},
        {"torch.FloatStorage", Global::kStorageF32},
        {"torch.HalfStorage", Global::kStorageF16},
        {"torch.BFloat16Storage", Global::kStorageBF16},
    };
    const std::string full = module + "." + name;
    for (const auto& [allowed, id] : kAllowed) {
      if (full == allowed) return Value{Kind::kGlobal, static_cast<int64_t>(id), 0.0, 0};
    }
    fail("global '" + full + "' is not allowed");
  }

  const std::vector<Value>& tuple(const Value& v, const char* what) const {
    if (v.kind != Kind::kTuple) fail(std::string(what) + " is not a tuple");
    return sequences_[v.ref];
  }
  int64_t integer(const Value& v, const char* what) const {
    if (v.kind != Kind::kInt) fail(std::string(what) + " is not an integer");
    return v.number;
  }

  // BINPERSID on ('storage', torch.FloatStorage, '<key>', 'cpu', numel).
  Value persistent_load(const Value& pid) {
    const auto& items = tuple(pid, "a persistent id");
    if (items.size() != 5 || items[0].kind != Kind::kString ||
        strings_[items[0].ref] != "storage") {
      fail("persistent id is not ('storage', type, key, location, numel)");
    }
    DType dtype;
    switch (items[1].kind == Kind::kGlobal ? static_cast<Global>(items[1].number)
                                           : Global::kOrderedDict) {
      case Global::kStorageF32:
        dtype = DType::kF32;
        break;
      case Global::kStorageF16:
        dtype = DType::kF16;
        break;
      case Global::kStorageBF16:
        dtype = DType::kBF16;
        break;
      default:
        fail("persistent id does not name a Float, Half or BFloat16 storage");
    }
    if (items[2].kind != Kind::kString || items[3].kind != Kind::kString) {
      fail("persistent id key or location is not a string");
    }
    const int64_t numel = integer(items[4], "a storage size");
    if (numel < 0) fail("storage size is negative");
    storages_.push_back(Storage{strings_[items[2].ref], dtype, numel});
    return Value{Kind::kStorage, 0, 0.0, static_cast<uint32_t>(storages_.size() - 1)};
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
  // [, metadata]): only contiguous tensors inside their storage.
  Value rebuild_tensor(const std::vector<Value>& args) {
    if (args.size() != 6 && args.size() != 7) fail("_rebuild_tensor_v2 takes 6 or 7 arguments");
    if (args[0].kind != Kind::kStorage) fail("_rebuild_tensor_v2 argument 0 is not a storage");
    const Storage& storage = storages_[args[0].ref];
    Tensor tensor{args[0].ref, integer(args[1], "a storage offset"), {}};
    const auto& size = tuple(args[2], "a tensor size");
    const auto& stride = tuple(args[3], "a tensor stride");
    if (size.size() != stride.size() || size.size() > kMaxRank) {
      fail("tensor size and stride have different or too many dimensions");
    }
    int64_t numel = 1;
    for (const Value& dim : size) {
      const int64_t n = integer(dim, "a tensor dimension");
      if (n < 0 || __builtin_mul_overflow(numel, n, &numel)) fail("tensor size overflows");
      tensor.shape.push_back(n);
    }
    // Row-major contiguity: each stride is the product of the sizes after it (size-1 axes may
    // have any stride, as torch allows).
    int64_t expected = 1;
    for (size_t d = size.size(); d-- > 0;) {
      const int64_t s = integer(stride[d], "a tensor stride");
      if (numel != 0 && tensor.shape[d] != 1 && s != expected) {
        fail("a tensor of storage '" + storage.key +
             "' is not contiguous; save it with "
             ".contiguous()");
      }
      expected *= tensor.shape[d];
    }
    int64_t end = 0;
    if (tensor.offset < 0 || __builtin_add_overflow(tensor.offset, numel, &end) ||
        end > storage.numel) {
      fail("a tensor extends past the end of storage '" + storage.key + "'");
    }
    tensors_.push_back(std::move(tensor));
    return Value{Kind::kTensor, 0, 0.0, static_cast<uint32_t>(tensors_.size() - 1)};
  }

  Value reduce(const Value& callable, const Value& args_value) {
    const auto& args = tuple(args_value, "REDUCE arguments");
    if (callable.kind != Kind::kGlobal) fail("REDUCE on something that is not a global");
    switch (static_cast<Global>(callable.number)) {
      case Global::kOrderedDict:
        if (!args.empty()) fail("OrderedDict() with arguments");
        return make_dict();
      case Global::kRebuildTensorV2:
        return rebuild_tensor(std::vector<Value>(args));
      default:
        fail("REDUCE on a storage class");
    }
  }

  void set_items(Value& dict, const std::vector<Value>& items) {
    if (dict.kind != Kind::kDict) fail("SETITEM on something that is not a dict");
    if (items.size() % 2 != 0) fail("SETITEMS with an odd number of items");
    auto& entries = dicts_[dict.ref];
    for (size_t i = 0; i < items.size(); i += 2) entries.emplace_back(items[i], items[i + 1]);
  }

  void append(Value& list, const std::vector<Value>& items) {
    if (list.kind != Kind::kList) fail("APPEND on something that is not a list");
    auto& sequence = sequences_[list.ref];
    sequence.insert(sequence.end(), items.begin(), items.end());
  }

  void put(uint64_t index) {
    if (memo_.size() >= kMaxMemo && !memo_.contains(index)) fail("memo is too large");
    memo_[index] = top();
  }
  void get(uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " is not set");
    push(it->second);
  }

  Value run() {
    while (true) {
      const size_t at = pos_;
      const auto op = static_cast<unsigned char>(*take(1));
      switch (op) {
        case 0x80: {  // PROTO
          const auto version = read_le(1);
          if (version > 5) fail("protocol " + std::to_string(version) + " is not supported");
          break;
        }
        case '(':  // MARK
          if (marks_.size() >= kMaxStack) fail("too many MARKs");
          marks_.push_back(stack_.size());
          break;
        case ')':  // EMPTY_TUPLE
          push(make_sequence(Kind::kTuple, {}));
          break;
        case ']':  // EMPTY_LIST
          push(make_sequence(Kind::kList, {}));
          break;
        case '}':  // EMPTY_DICT
          push(make_dict());
          break;
        case 'N':  // NONE
          push(Value{});
          break;
        case 0x88:  // NEWTRUE
        case 0x89:  // NEWFALSE
          push(Value{Kind::kBool, op == 0x88 ? 1 : 0, 0.0, 0});
          break;
        case 'J':  // BININT
          push(make_int(static_cast<int32_t>(static_cast<uint32_t>(read_le(4)))));
          break;
        case 'K':  // BININT1
          push(make_int(static_cast<int64_t>(read_le(1))));
          break;
        case 'M':  // BININT2
          push(make_int(static_cast<int64_t>(read_le(2))));
          break;
        case 0x8a: {  // LONG1: little-endian two's complement of n bytes
          const auto n = static_cast<size_t>(read_le(1));
          if (n > 8) fail("LONG1 of " + std::to_string(n) + " bytes does not fit 64 bits");
          uint64_t value = n ? read_le(n) : 0;
          if (n > 0 && n < 8 && (value >> (8 * n - 1)) != 0) value |= ~uint64_t{0} << (8 * n);
          push(make_int(static_cast<int64_t>(value)));
          break;
        }
        case 'G': {  // BINFLOAT: big-endian double
          const std::byte* p = take(8);
          uint64_t bits = 0;
          for (int i = 0; i < 8; ++i) bits = (bits << 8) | std::to_integer<uint64_t>(p[i]);
          Value value{Kind::kFloat, 0, 0.0, 0};
          std::memcpy(&value.real, &bits, sizeof bits);
          push(value);
          break;
        }
        case 'X':  // BINUNICODE
          push(make_string(read_string(static_cast<size_t>(read_le(4)))));
          break;
        case 0x8c:  // SHORT_BINUNICODE
        case 'U':   // SHORT_BINSTRING
          push(make_string(read_string(static_cast<size_t>(read_le(1)))));
          break;
        case 'T': {  // BINSTRING
          const auto n = static_cast<int32_t>(static_cast<uint32_t>(read_le(4)));
          if (n < 0) fail("negative string length");
          push(make_string(read_string(static_cast<size_t>(n))));
          break;
        }
        case 'c': {  // GLOBAL
          std::string module = read_line();
          std::string name = read_line();
          push(make_global(module, name));
          break;
        }
        case 'q':  // BINPUT
          put(read_le(1));
          break;
        case 'r':  // LONG_BINPUT
          put(read_le(4));
          break;
        case 'h':  // BINGET
          get(read_le(1));
          break;
        case 'j':  // LONG_BINGET
          get(read_le(4));
          break;
        case 't':  // TUPLE
          push(make_sequence(Kind::kTuple, pop_to_mark()));
          break;
        case 0x85:    // TUPLE1
        case 0x86:    // TUPLE2
        case 0x87: {  // TUPLE3
          std::vector<Value> items(op - 0x84);
          for (size_t i = items.size(); i-- > 0;) items[i] = pop();
          push(make_sequence(Kind::kTuple, std::move(items)));
          break;
        }
        case 'R': {  // REDUCE
          const Value args = pop();
          const Value callable = pop();
          push(reduce(callable, args));
          break;
        }
        case 'Q':  // BINPERSID
          push(persistent_load(pop()));
          break;
        case 's': {  // SETITEM
          const Value value = pop();
          const Value key = pop();
          set_items(top(), {key, value});
          break;
        }
        case 'u': {  // SETITEMS
          const auto items = pop_to_mark();
          set_items(top(), items);
          break;
        }
        case 'a': {  // APPEND
          const Value value = pop();
          append(top(), {value});
          break;
        }
        case 'e': {  // APPENDS
          const auto items = pop_to_mark();
          append(top(), items);
          break;
        }
        case 'b': {  // BUILD: torch attaches the state dict's _metadata, which we do not need
          pop();
          if (top().kind != Kind::kDict) fail("BUILD on something that is not a dict");
          break;
        }
        case '.':  // STOP
          return pop();
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          fail(std::string("opcode ") + hex + " at byte " + std::to_string(at) +
               " is not supported");
        }
      }
    }
  }

  std::span<const std::byte> bytes_;
  const std::string& where_;
  size_t pos_ = 0;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value> memo_;
  std::vector<std::string> strings_;
  std::vector<std::vector<Value>> sequences_;
  std::vector<std::vector<std::pair<Value, Value>>> dicts_;
  std::vector<Storage> storages_;
  std::vector<Tensor> tensors_;
};

}  // namespace

std::vector<PickledTensor> parse_state_dict_pickle(std::span<const std::byte> pickle,
                                                   const std::string& where) {
  return Parser(pickle, where).parse_state_dict();
}

}  // namespace mamba2
