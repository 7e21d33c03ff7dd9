#include "framework/process/process.hpp"

#include "framework/object/duplicate.hpp"
#include "framework/process/socket_timeouts.hpp"
#include "framework/sleep.hpp"

#include <atomic>
#include <boost/intrusive/list.hpp>
#include <numeric>

namespace coronet {

namespace {

std::string describe_exception(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return std::string("exception: ") + ex.what();
    } catch (...) {
        return "exception of unknown type";
    }
}

// Runs a coroutine of the process while holding a reference, so the process outlives it.
task<void> hold_process(ref<process>, task<void> t) { co_await std::move(t); }

std::atomic<std::uint64_t> last_process_id{0};

} // namespace

struct process_list_access {
    using list = boost::intrusive::list<
        process,
        boost::intrusive::member_hook<process, decltype(process::thread_hook_),
                                      &process::thread_hook_>,
        boost::intrusive::constant_time_size<false>>;
    // Objects belong to one core: each thread's processes are on a list of its own.
    static list& of_this_thread() {
        thread_local list processes;
        return processes;
    }
};

ref<process> make_process_object(process::options opts) { return ref<process>(new process(std::move(opts))); }

ref<process> process::create(options opts) { return make_process_object(std::move(opts)); }

process::process(options opts)
    : name_(std::move(opts.name)), id_(last_process_id.fetch_add(1, std::memory_order_relaxed) + 1),
      stack_(opts.stack), handles_(opts.handle_limit),
      scope_([this](std::exception_ptr e) { terminate(describe_exception(e)); }) {
    process_list_access::of_this_thread().push_back(*this);
}

std::vector<process*> process::on_this_thread() {
    std::vector<process*> out;
    for (process& p : process_list_access::of_this_thread())
        out.push_back(&p);
    return out;
}

std::uint64_t process::total_calls() const noexcept {
    return std::accumulate(calls_.begin(), calls_.end(), std::uint64_t{0});
}

void process::spawn(task<void> t) {
    if (!alive_) return; // a dead process runs nothing more
    scope_.spawn(hold_process(ref<process>(this), std::move(t)));
}

void process::terminate(std::string reason) {
    if (!alive_) return;
    alive_ = false;
    exit_reason_ = std::move(reason);
    scope_.request_stop();
    handles_.close_all();
    exited_.set();
}

result<unique_handle> process::own(result<handle> h) noexcept {
    if (!h) return error{h.error()};
    return unique_handle(*this, *h);
}

immediate<result<>> process::nop() noexcept { return immediate<result<>>{enter(sysno::nop)}; }

immediate<result<>> process::close(handle h) noexcept {
    ++calls_[static_cast<std::size_t>(sysno::close)];
    return immediate<result<>>{handles_.close(h)};
}

immediate<result<handle>> process::duplicate_handle(handle h, process& to, access_mask rights) {
    if (auto r = enter(sysno::duplicate_handle); !r) return immediate<result<handle>>{error{r.error()}};
    if (!to.alive_) return immediate<result<handle>>{error{ESRCH}};
    return immediate<result<handle>>{coronet::duplicate_handle(handles_, h, to.handles_, rights)};
}

task<result<>> process::sleep(duration d) {
    if (auto r = enter(sysno::sleep); !r) co_return r;
    co_return co_await sleep_for(d);
}

immediate<result<handle>> process::create_event(event::reset_mode mode, bool set) {
    if (auto r = enter(sysno::create_event); !r) return immediate<result<handle>>{error{r.error()}};
    return immediate<result<handle>>{open(make_object<event_object>(mode, set))};
}

immediate<result<>> process::set_event(handle h) {
    auto e = enter<event_object>(sysno::set_event, h);
    if (!e) return immediate<result<>>{error{e.error()}};
    (*e)->ev.set();
    return immediate<result<>>{{}};
}

immediate<result<>> process::reset_event(handle h) {
    auto e = enter<event_object>(sysno::reset_event, h);
    if (!e) return immediate<result<>>{error{e.error()}};
    (*e)->ev.reset();
    return immediate<result<>>{{}};
}

immediate<result<handle>> process::create_semaphore(std::size_t initial, std::size_t maximum) {
    if (auto r = enter(sysno::create_semaphore); !r) return immediate<result<handle>>{error{r.error()}};
    if (initial > maximum || maximum == 0) return immediate<result<handle>>{error{EINVAL}};
    return immediate<result<handle>>{open(make_object<semaphore_object>(initial, maximum))};
}

immediate<result<>> process::release_semaphore(handle h, std::size_t n) {
    auto s = enter<semaphore_object>(sysno::release_semaphore, h);
    if (!s) return immediate<result<>>{error{s.error()}};
    semaphore_object& obj = **s;
    if (obj.sem.available() + n > obj.max) return immediate<result<>>{error{EOVERFLOW}};
    obj.sem.release(n);
    return immediate<result<>>{{}};
}

task<result<>> process::wait(handle h) {
    ++calls_[static_cast<std::size_t>(sysno::wait)];
    if (!alive_) co_return error{ESRCH};
    auto entry = handles_.lookup(h, describe(sysno::wait).rights);
    if (!entry) co_return error{entry.error()};
    ref<kernel_object> hold(*entry); // alive across the wait even if h is closed
    switch (hold->type()) {
    case object_type::event:
        co_return co_await static_cast<event_object&>(*hold).ev.wait();
    case object_type::semaphore:
        co_return co_await static_cast<semaphore_object&>(*hold).sem.acquire();
    case object_type::process:
        co_return co_await static_cast<process&>(*hold).exited_.wait();
    default:
        co_return error{EINVAL}; // nothing to wait for on this kind of object
    }
}

result<handle> process::new_socket(socket_type type) {
    if (!stack_) return error{ENETDOWN};
    auto s = stack_->socket(type);
    if (!s) return error{s.error()};
    return open(std::move(*s));
}

immediate<result<handle>> process::socket(socket_type type) {
    if (auto r = enter(sysno::socket); !r) return immediate<result<handle>>{error{r.error()}};
    return immediate<result<handle>>{new_socket(type)};
}

immediate<result<>> process::bind(handle h, const endpoint& local) {
    auto s = enter<socket_object>(sysno::bind, h);
    return immediate<result<>>{s ? (*s)->bind(local) : result<>{error{s.error()}}};
}

immediate<result<>> process::listen(handle h, int backlog) {
    auto s = enter<socket_object>(sysno::listen, h);
    return immediate<result<>>{s ? (*s)->listen(backlog) : result<>{error{s.error()}}};
}

immediate<result<handle>> process::listen(const endpoint& local, listen_options opts) {
    auto h = socket(socket_type::stream).get();
    if (!h) return immediate<result<handle>>{h};
    auto fail = [&](int err) {
        (void)handles_.close(*h);
        return immediate<result<handle>>{error{err}};
    };
    if (opts.reuse_address) {
        if (auto r = set_socket_option(*h, socket_option::reuse_address, 1).get(); !r && r.error() != ENOPROTOOPT)
            return fail(r.error());
    }
    if (opts.reuse_port) {
        if (auto r = set_socket_option(*h, socket_option::reuse_port, 1).get(); !r)
            return fail(r.error());
    }
    if (auto r = bind(*h, local).get(); !r) return fail(r.error());
    if (auto r = listen(*h, opts.backlog).get(); !r) return fail(r.error());
    return immediate<result<handle>>{h};
}

task<result<handle>> process::accept(handle listener) {
    auto s = enter_socket(sysno::accept, listener);
    if (!s) co_return error{s.error()};
    auto conn = co_await socket_timeouts::within(**s, (*s)->timeouts.receive, (*s)->accept());
    if (!conn) co_return error{conn.error()};
    if (!alive_) co_return error{ESRCH}; // ended while waiting: the connection closes here
    co_return open(std::move(*conn));
}

task<result<>> process::connect(handle h, const endpoint& remote) {
    auto s = enter_socket(sysno::connect, h);
    if (!s) co_return error{s.error()};
    co_return co_await (*s)->connect(remote);
}

task<result<handle>> process::connect(const endpoint& remote) {
    auto h = socket(socket_type::stream).get();
    if (!h) co_return h;
    if (auto r = co_await connect(*h, remote); !r) {
        (void)handles_.close(*h);
        co_return error{r.error()};
    }
    co_return h;
}

task<result<std::size_t>> process::read(handle h, std::span<std::byte> buffer) {
    auto s = enter_socket(sysno::read, h);
    if (!s) co_return error{s.error()};
    co_return co_await socket_timeouts::within(**s, (*s)->timeouts.receive, (*s)->read(buffer));
}

task<result<std::size_t>> process::write(handle h, std::span<const std::byte> bytes) {
    auto s = enter_socket(sysno::write, h);
    if (!s) co_return error{s.error()};
    co_return co_await socket_timeouts::within(**s, (*s)->timeouts.send, (*s)->write(bytes));
}

task<result<>> process::write_all(handle h, std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        auto n = co_await write(h, bytes);
        if (!n) co_return error{n.error()};
        if (*n == 0) co_return error{EPIPE};
        bytes = bytes.subspan(*n);
    }
    co_return result<>{};
}

task<result<>> process::read_exactly(handle h, std::span<std::byte> buffer) {
    while (!buffer.empty()) {
        auto n = co_await read(h, buffer);
        if (!n) co_return error{n.error()};
        if (*n == 0) co_return error{ENODATA}; // the peer closed before all of it came
        buffer = buffer.subspan(*n);
    }
    co_return result<>{};
}

task<result<packet>> process::recv_zc(handle h, std::size_t max) {
    auto s = enter_socket(sysno::recv_zc, h);
    if (!s) co_return error{s.error()};
    co_return co_await socket_timeouts::within(**s, (*s)->timeouts.receive, (*s)->recv_zc(max));
}

task<result<std::size_t>> process::send_zc(handle h, packet& data) {
    auto s = enter_socket(sysno::send_zc, h);
    if (!s) co_return error{s.error()};
    co_return co_await socket_timeouts::within(**s, (*s)->timeouts.send, (*s)->send_zc(data));
}

task<result<>> process::send_zc_all(handle h, packet& data) {
    while (!data.empty()) {
        auto n = co_await send_zc(h, data);
        if (!n) co_return error{n.error()};
        if (*n == 0) co_return error{EPIPE};
    }
    co_return result<>{};
}

task<result<std::size_t>> process::send_to(handle h, std::span<const std::byte> bytes, const endpoint& to) {
    auto s = enter_socket(sysno::send_to, h);
    if (!s) co_return error{s.error()};
    co_return co_await socket_timeouts::within(**s, (*s)->timeouts.send, (*s)->send_to(bytes, to));
}

task<result<datagram_info>> process::recv_from(handle h, std::span<std::byte> buffer) {
    auto s = enter_socket(sysno::recv_from, h);
    if (!s) co_return error{s.error()};
    co_return co_await socket_timeouts::within(**s, (*s)->timeouts.receive, (*s)->recv_from(buffer));
}

immediate<result<>> process::shutdown(handle h, shutdown_how how) {
    auto s = enter<socket_object>(sysno::shutdown, h);
    return immediate<result<>>{s ? (*s)->shutdown(how) : result<>{error{s.error()}}};
}

immediate<result<endpoint>> process::get_socket_name(handle h) {
    auto s = enter<socket_object>(sysno::get_socket_name, h);
    return immediate<result<endpoint>>{s ? (*s)->local_endpoint() : result<endpoint>{error{s.error()}}};
}

immediate<result<endpoint>> process::get_peer_name(handle h) {
    auto s = enter<socket_object>(sysno::get_peer_name, h);
    return immediate<result<endpoint>>{s ? (*s)->peer_endpoint() : result<endpoint>{error{s.error()}}};
}

immediate<result<>> process::set_socket_option(handle h, socket_option opt, std::int64_t value) {
    auto s = enter<socket_object>(sysno::set_socket_option, h);
    if (!s) return immediate<result<>>{error{s.error()}};
    if (socket_timeouts::is_timeout(opt))
        return immediate<result<>>{socket_timeouts::set(**s, opt, value)};
    return immediate<result<>>{(*s)->set_option(opt, value)};
}

immediate<result<std::int64_t>> process::get_socket_option(handle h, socket_option opt) {
    auto s = enter<socket_object>(sysno::get_socket_option, h);
    if (!s) return immediate<result<std::int64_t>>{error{s.error()}};
    if (socket_timeouts::is_timeout(opt))
        return immediate<result<std::int64_t>>{socket_timeouts::get(**s, opt)};
    return immediate<result<std::int64_t>>{(*s)->get_option(opt)};
}

immediate<result<coronet::tcp_info>> process::tcp_info(handle h) {
    auto s = enter<socket_object>(sysno::tcp_info, h);
    if (!s) return immediate<result<coronet::tcp_info>>{error{s.error()}};
    return immediate<result<coronet::tcp_info>>{(*s)->connection_info()};
}

} // namespace coronet
