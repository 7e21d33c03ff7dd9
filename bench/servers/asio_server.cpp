// bench_asio_server: the peer a C++ user would otherwise pick, in scripts/bench: Boost.Asio
// with C++20 coroutines (awaitable, co_spawn), one io_context on one thread (epoll under
// it). The same logic as coronet-echo and coronet-httpd (responder.hpp), byte for byte.
//
//   bench_asio_server echo 7009
//   bench_asio_server http 18083 ./www     # port 0: any free port
//
// It prints "listening on port N" once it accepts. Each connection is one coroutine that
// reads, then writes all it has to answer before it reads again.
#include "bench/servers/responder.hpp"

#include <utility> // before Asio: Boost 1.74's awaitable.hpp needs std::exchange

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <cstring>

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace coronet;
using namespace coronet::bench;

namespace {

constexpr std::size_t read_size = 16384; // coronet-echo's and coronet-httpd's buffer

awaitable<void> echo_session(tcp::socket s) {
    std::array<char, read_size> buf;
    boost::system::error_code ec;
    for (;;) {
        const std::size_t n = co_await s.async_read_some(
            asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break; // an error or the peer's FIN (eof)
        co_await asio::async_write(s, asio::buffer(buf.data(), n),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
    }
}

awaitable<void> http_session(tcp::socket s, responder& answers) {
    std::array<char, read_size> buf;
    std::string in;
    boost::system::error_code ec;
    for (bool open = true; open;) {
        auto r = http::parse_request(in);
        if (r.status == http::parse_status::need_more) {
            const std::size_t n = co_await s.async_read_some(
                asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            in.append(buf.data(), n);
            continue;
        }
        response out = r.status == http::parse_status::complete
                           ? answers.answer(r.req)
                           : responder::malformed(r.error_status);
        open = out.keep_alive;
        in.erase(0, r.status == http::parse_status::complete ? r.consumed : in.size());
        std::array<asio::const_buffer, 2> parts{
            asio::buffer(out.head), out.body ? asio::buffer(*out.body) : asio::const_buffer()};
        co_await asio::async_write(s, parts, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
    }
}

awaitable<void> listen(tcp::acceptor& acceptor, bool http, responder& answers) {
    for (;;) {
        boost::system::error_code ec;
        tcp::socket s =
            co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) continue; // a connection reset before accept, or out of descriptors
        auto ex = acceptor.get_executor();
        if (http)
            asio::co_spawn(ex, http_session(std::move(s), answers), asio::detached);
        else
            asio::co_spawn(ex, echo_session(std::move(s)), asio::detached);
    }
}

} // namespace

int main(int argc, char** argv) {
    const auto cmd = parse_command_line(argc, argv);
    if (!cmd) return 2;
    const std::uint16_t port = cmd->port;
    responder answers(cmd->root);
    asio::io_context ctx(1); // one thread: no locking inside asio
    boost::system::error_code ec;
    tcp::acceptor acceptor(ctx);
    const tcp::endpoint at(tcp::v4(), port);
    acceptor.open(at.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(at, ec);
    if (!ec) acceptor.listen(1024, ec);
    if (ec) {
        std::fprintf(stderr, "bench_asio_server: port %u: %s\n", port, ec.message().c_str());
        return 1;
    }
    std::printf("listening on port %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    asio::co_spawn(ctx, listen(acceptor, cmd->http, answers), asio::detached);
    ctx.run();
    return 0;
}
