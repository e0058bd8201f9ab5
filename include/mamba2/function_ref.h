// A non-owning reference to a callable: what std::function is for a parameter that is only
// called, never stored, without its allocation (std::function_ref arrives in C++26).
#pragma once

#include <type_traits>
#include <utility>

namespace mamba2 {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  // `fn` must outlive every call through this reference.
  template <class Fn>
  requires(!std::is_same_v<std::remove_cvref_t<Fn>, FunctionRef> &&
           std::is_invocable_r_v<R, const Fn&, Args...>)
      FunctionRef(const Fn& fn)  // NOLINT(google-explicit-constructor): used like a function type
      : object_(&fn), call_([](const void* object, Args... args) -> R {
          return (*static_cast<const Fn*>(object))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  const void* object_;
  R (*call_)(const void*, Args...);
};

}  // namespace mamba2
