#pragma once
// result<T>: the value of an operation that can fail in an expected way (a bad handle, a
// reset peer, a timeout, a full buffer). The failure is an errno value with the meaning a C
// programmer expects (EBADF, EACCES, ECANCELED, ECONNRESET...), never an exception.
// Exceptions are kept for bugs and start-up failures; value() on an error throws one,
// since asking for a value that is not there is a bug.
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace coronet {

// An errno value; the tag type keeps `return error{EBADF};` unambiguous next to T.
struct error {
    int code = 0;
    friend bool operator==(error, error) = default;
};

inline std::string error_message(int code) { return std::generic_category().message(code); }

template <class T = void>
class [[nodiscard]] result {
public:
    result(T value) : value_(std::move(value)), err_(0) {}
    result(coronet::error e) : err_(e.code) {}
    result(const result&) = default;
    result(result&&) = default;
    result& operator=(const result&) = default;
    result& operator=(result&&) = default;

    bool has_value() const noexcept { return err_ == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    // The errno value, 0 when the operation succeeded.
    int error() const noexcept { return err_; }
    std::string message() const { return error_message(err_); }

    T& value() & { check(); return value_; }
    const T& value() const& { check(); return value_; }
    T&& value() && { check(); return std::move(value_); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T value_or(T fallback) const { return has_value() ? value_ : std::move(fallback); }

private:
    void check() const {
        if (err_ != 0) throw std::system_error(err_, std::generic_category(), "coronet::result::value");
    }
    // T is default-constructed on error; every T here is a small value (sizes, handles).
    static_assert(std::is_default_constructible_v<T>, "result<T> needs a default-constructible T");
    T value_{};
    int err_;
};

template <>
class [[nodiscard]] result<void> {
public:
    result() = default;
    result(coronet::error e) : err_(e.code) {}
    bool has_value() const noexcept { return err_ == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    int error() const noexcept { return err_; }
    std::string message() const { return error_message(err_); }
    void value() const {
        if (err_ != 0) throw std::system_error(err_, std::generic_category(), "coronet::result::value");
    }

private:
    int err_ = 0;
};

// Builds a result from a kernel-style return value: negative is -errno, else the value.
template <class T>
result<T> from_syscall(long ret) {
    if (ret < 0) return error{static_cast<int>(-ret)};
    return static_cast<T>(ret);
}

} // namespace coronet
