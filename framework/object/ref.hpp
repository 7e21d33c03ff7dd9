#pragma once
// ref<T>: a counted reference to a kernel object, held by kernel code (an intrusive pointer:
// the count lives in the object's header). Copy adds a reference, move transfers it,
// destruction or reset() drops it; the last one destroys the object if no handle is open.
#include "framework/object/object.hpp"

#include <concepts>
#include <cstddef>
#include <utility>

namespace coronet {

template <class T>
class ref {
public:
    constexpr ref() noexcept = default;
    constexpr ref(std::nullptr_t) noexcept {}
    // Takes a new reference on a live object, e.g. one a handle lookup returned, so that it
    // stays alive across a suspension even if the handle is closed meanwhile.
    explicit ref(T* object) noexcept : object_(object) {
        if (object_ != nullptr) object_->add_ref();
    }
    ref(const ref& other) noexcept : ref(other.object_) {}
    ref(ref&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
    template <class U>
    requires std::convertible_to<U*, T*> ref(const ref<U>& other)
    noexcept : ref(other.get()) {}
    template <class U>
    requires std::convertible_to<U*, T*> ref(ref<U>&& other)
    noexcept : object_(other.release_ownership()) {}
    ~ref() { reset(); }

    ref& operator=(ref other) noexcept {
        std::swap(object_, other.object_);
        return *this;
    }

    void reset() noexcept {
        if (T* object = std::exchange(object_, nullptr)) object->release();
    }

    T* get() const noexcept { return object_; }
    T& operator*() const noexcept { return *object_; }
    T* operator->() const noexcept { return object_; }
    explicit operator bool() const noexcept { return object_ != nullptr; }

    friend bool operator==(const ref& a, const ref& b) noexcept { return a.object_ == b.object_; }
    friend bool operator==(const ref& a, std::nullptr_t) noexcept { return a.object_ == nullptr; }

private:
    template <class U>
    friend class ref;

    T* release_ownership() noexcept { return std::exchange(object_, nullptr); }

    T* object_ = nullptr;
};

// Creates a kernel object with one reference, the returned one.
template <class T, class... Args>
requires std::derived_from<T, kernel_object> ref<T> make_object(Args&&... args) {
    return ref<T>(new T(std::forward<Args>(args)...));
}

} // namespace coronet
