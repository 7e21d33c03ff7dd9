#include "framework/process/unique_handle.hpp"

#include "framework/process/process.hpp"

#include <utility>

namespace coronet {

unique_handle::unique_handle(process& owner, handle h) noexcept : owner_(&owner), handle_(h) {}

unique_handle::unique_handle(unique_handle&& other) noexcept
    : owner_(std::move(other.owner_)), handle_(std::exchange(other.handle_, {})) {}

unique_handle& unique_handle::operator=(unique_handle&& other) noexcept {
    if (this != &other) {
        (void)close();
        owner_ = std::move(other.owner_);
        handle_ = std::exchange(other.handle_, {});
    }
    return *this;
}

unique_handle::~unique_handle() { (void)close(); }

immediate<result<>> unique_handle::close() noexcept {
    if (!handle_) return immediate<result<>>{error{EBADF}};
    result<> r = owner_->close(std::exchange(handle_, {}));
    owner_.reset(); // may end the process object, if this was the last thing holding it
    return immediate<result<>>{r};
}

handle unique_handle::release() noexcept {
    owner_.reset();
    return std::exchange(handle_, {});
}

} // namespace coronet
