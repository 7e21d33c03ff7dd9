#pragma once
// process: the unit of isolation, after an operating system's process. It is a handle
// table, the coroutines running in it, and accounting (system calls made, by number).
// Application code holds only handles; each system call below looks the handle up in
// this process's table, checks its type and rights, counts itself, then runs kernel code,
// and reports an expected failure as an errno value (EBADF, EACCES, ENOTSOCK...).
//
// A crash stays inside its process: an exception escaping one of its coroutines ends the
// process (its handles close, its other coroutines are cancelled through their stop
// tokens), while the scheduler and every other process go on.
//
// Lifetime: a process is a kernel object. Each coroutine spawned in it holds a reference,
// so it lives as long as any of them runs or anyone holds a ref or handle to it.
#include "framework/object/handle_table.hpp"
#include "framework/object/ref.hpp"
#include "framework/process/immediate.hpp"
#include "framework/process/socket.hpp"
#include "framework/process/sync_objects.hpp"
#include "framework/process/syscall.hpp"
#include "framework/process/unique_handle.hpp"
#include "framework/task_scope.hpp"

#include <array>
#include <limits>
#include <string>

namespace coronet {

class process final : public typed_object<object_type::process> {
public:
    struct options {
        std::string name = "process";
        network_stack* stack = nullptr; // serves the socket calls; none: they fail with ENETDOWN
        std::uint32_t handle_limit = handle_table::default_limit;
    };

    static ref<process> create(options opts);
    static ref<process> create(std::string name, network_stack* stack = nullptr) {
        return create(options{.name = std::move(name), .stack = stack});
    }

    const std::string& name() const noexcept { return name_; }
    handle_table& handles() noexcept { return handles_; }
    network_stack* stack() const noexcept { return stack_; }
    // The time of day, from the stack (wall_clock.hpp): for dates a server shows, never for
    // timers. Without a stack, the system's.
    std::chrono::system_clock::time_point wall_time() const noexcept {
        return stack_ != nullptr ? stack_->wall().now() : system_wall_clock::instance().now();
    }
    std::uint64_t calls(sysno n) const noexcept { return calls_[static_cast<std::size_t>(n)]; }
    std::uint64_t total_calls() const noexcept;

    // Running code in the process.
    void spawn(task<void> t);
    template <class F>
        requires std::is_invocable_r_v<task<void>, F&>
    void spawn(F coroutine_lambda) {
        spawn(as_task(std::move(coroutine_lambda)));
    }
    // Waits until every coroutine of the process has ended.
    auto join() noexcept { return scope_.join(); }
    std::size_t running() const noexcept { return scope_.active(); }
    bool alive() const noexcept { return alive_; }
    // Why the process ended ("" while it runs): the escaped exception's message, or the
    // reason given to terminate().
    const std::string& exit_reason() const noexcept { return exit_reason_; }
    // Ends the process: closes every handle, cancels its coroutines. Idempotent.
    void terminate(std::string reason);
    // Forgets the stack, which is going (a simulated host crashed): socket calls fail with
    // ENETDOWN from now on, and wall_time() reads the system's clock.
    void detach_stack() noexcept { stack_ = nullptr; }

    // Adopts a handle of this process that a call returned into a unique_handle, which
    // closes it when it goes: `auto ls = p.own(co_await p.listen(ep));`. An error passes.
    result<unique_handle> own(result<handle> h) noexcept;

    // --- System calls. ---
    immediate<result<>> nop() noexcept;
    immediate<result<>> close(handle h) noexcept;
    // A handle in `to` (possibly this process) on the object `h` names here, with `rights`
    // (access::all: the same as h's); EACCES to gain rights or without the duplicate right.
    immediate<result<handle>> duplicate_handle(handle h, process& to, access_mask rights);
    task<result<>> sleep(duration d);

    immediate<result<handle>> create_event(event::reset_mode mode = event::reset_mode::manual, bool set = false);
    immediate<result<>> set_event(handle h);
    immediate<result<>> reset_event(handle h);
    immediate<result<handle>> create_semaphore(std::size_t initial, std::size_t maximum);
    // EOVERFLOW if the count would pass the semaphore's maximum.
    immediate<result<>> release_semaphore(handle h, std::size_t n = 1);
    // Waits until an event is set, a semaphore unit is taken, or a process has ended.
    task<result<>> wait(handle h);

    immediate<result<handle>> socket(socket_type type);
    immediate<result<>> bind(handle h, const endpoint& local);
    immediate<result<>> listen(handle h, int backlog);
    // socket + bind + listen in one: the listening socket's handle.
    immediate<result<handle>> listen(const endpoint& local, listen_options opts = {});
    task<result<handle>> accept(handle listener);
    task<result<>> connect(handle h, const endpoint& remote);
    // socket + connect in one: the connected socket's handle.
    task<result<handle>> connect(const endpoint& remote);
    task<result<std::size_t>> read(handle h, std::span<std::byte> buffer);
    task<result<std::size_t>> write(handle h, std::span<const std::byte> bytes);
    // Stream helpers: all of `bytes` or an error; exactly buffer.size() bytes or an error
    // (EPIPE-like ECONNRESET... as read/write give; a close by the peer first is ENODATA).
    task<result<>> write_all(handle h, std::span<const std::byte> bytes);
    task<result<>> read_exactly(handle h, std::span<std::byte> buffer);
    // Zero copy: recv_zc lends received buffers (an empty packet: end of stream); send_zc
    // takes the leading bytes of `data` without copying, leaving in it what it did not take.
    // See socket_object for the contract.
    task<result<packet>> recv_zc(handle h, std::size_t max = std::numeric_limits<std::size_t>::max());
    task<result<std::size_t>> send_zc(handle h, packet& data);
    // send_zc until all of `data` is taken, or an error.
    task<result<>> send_zc_all(handle h, packet& data);
    task<result<std::size_t>> send_to(handle h, std::span<const std::byte> bytes, const endpoint& to);
    task<result<datagram_info>> recv_from(handle h, std::span<std::byte> buffer);
    immediate<result<>> shutdown(handle h, shutdown_how how);
    immediate<result<endpoint>> get_socket_name(handle h);
    immediate<result<endpoint>> get_peer_name(handle h);
    immediate<result<>> set_socket_option(handle h, socket_option opt, std::int64_t value);
    immediate<result<std::int64_t>> get_socket_option(handle h, socket_option opt);
    // TCP_INFO: what the stack knows of a TCP connection (tcp_info.hpp); EOPNOTSUPP for a
    // datagram socket.
    immediate<result<coronet::tcp_info>> tcp_info(handle h);

private:
    explicit process(options opts);
    friend ref<process> make_process_object(options);

    // The dispatcher: counts the call, then looks up h for the call's type and rights.
    template <class T>
    result<T*> enter(sysno n, handle h) noexcept {
        ++calls_[static_cast<std::size_t>(n)];
        if (!alive_) [[unlikely]]
            return error{ESRCH};
        auto r = handles_.lookup_as<T>(h, describe(n).rights);
        if constexpr (T::type_id == object_type::socket) {
            if (!r && r.error() == EINVAL) return error{ENOTSOCK};
        }
        return r;
    }
    result<> enter(sysno n) noexcept {
        ++calls_[static_cast<std::size_t>(n)];
        if (!alive_) [[unlikely]]
            return error{ESRCH};
        return {};
    }
    result<ref<socket_object>> enter_socket(sysno n, handle h) noexcept {
        auto s = enter<socket_object>(n, h);
        if (!s) return error{s.error()};
        return ref<socket_object>(*s);
    }
    result<handle> open(ref<kernel_object> object) { return handles_.insert(std::move(object), access::all); }
    result<handle> new_socket(socket_type type);

    std::string name_;
    network_stack* stack_;
    handle_table handles_;
    std::array<std::uint64_t, syscall_count> calls_{};
    task_scope scope_;
    event exited_;
    bool alive_ = true;
    std::string exit_reason_;
};

} // namespace coronet
