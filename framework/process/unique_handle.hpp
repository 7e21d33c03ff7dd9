#pragma once
// unique_handle: a handle that closes itself, for a socket, a listener or any handle a
// process opens. It owns one handle of one process: moving it moves the ownership,
// destroying it closes the handle, so an early co_return or an exception leaves nothing
// open behind it (a plain handle stays open until someone closes it or the process ends).
// close() closes at once and returns the close's result; a unique_handle that owns
// nothing (empty, moved from, closed, released) answers close() with EBADF, and its
// destructor does nothing.
//
// Closing from a destructor is safe because close is an immediate system call: the table
// entry goes at once and the object's own teardown (a FIN handshake, a cancelled io_uring
// operation) is started by on_last_handle_closed and finishes in the background, as when
// a process's exit closes its handles. The owner is held by a counted reference, so the
// process, and its table, outlive the handle; if the process ended first its exit closed
// the handle already and the destructor's close finds nothing to do.
//
// It converts to `handle` (as an lvalue only: a temporary would close before the call
// used it), so the system calls take it as they take a handle: p.read(conn, buffer).
// Plain `handle` stays for code that manages lifetimes itself; release() turns one into it.
#include "framework/object/handle.hpp"
#include "framework/object/ref.hpp"
#include "framework/process/immediate.hpp"
#include "framework/result.hpp"

namespace coronet {

class process;

class unique_handle {
public:
    unique_handle() noexcept = default;
    // Takes ownership of `h`, a handle of `owner`.
    unique_handle(process& owner, handle h) noexcept;
    unique_handle(unique_handle&& other) noexcept;
    unique_handle& operator=(unique_handle&& other) noexcept;
    unique_handle(const unique_handle&) = delete;
    unique_handle& operator=(const unique_handle&) = delete;
    ~unique_handle();

    handle get() const noexcept { return handle_; }
    operator handle() const& noexcept { return handle_; }
    operator handle() && = delete;
    explicit operator bool() const noexcept { return static_cast<bool>(handle_); }
    // The process whose handle this is; null when empty.
    process* owner() const noexcept { return owner_.get(); }

    // Closes the handle now: the result of the close system call, EBADF when empty.
    immediate<result<>> close() noexcept;
    // Gives the handle up without closing it: the caller now closes it.
    handle release() noexcept;

private:
    ref<process> owner_;
    handle handle_;
};

} // namespace coronet
