// The host stack's socket table on loopback (drivers/host/host_socket_row.cpp): the kernel's
// own figures for coronet's descriptors, as ss would print them: a listener's accept queue
// and backlog, a connection's unread bytes (SIOCINQ) and keepalive timer (sock_diag), UDP
// queues and drops (SO_MEMINFO), and the owning processes.
#include "framework/process/socket_table.hpp"
#include "tests/drivers/host_world.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace coronet;
using namespace std::chrono_literals;
using coronet::test::bytes_of;
using coronet::test::loopback;

namespace {

using world = coronet::test::host_world;

const socket_row* find_row(const std::vector<socket_row>& rows, socket_protocol proto,
                           const endpoint& local, const endpoint& remote = {}) {
    for (const auto& r : rows)
        if (r.protocol == proto && r.local == local && r.remote == remote) return &r;
    return nullptr;
}

} // namespace

TEST_CASE("host socket table: a listener's queues, a connection's unread bytes and keepalive "
          "timer, and their owners, from the kernel",
          "[host][socket_table]") {
    world w;
    auto server = process::create("server", &w.stack);
    auto client = process::create("client", &w.stack);
    const handle ls = server->listen({loopback, 0}, {.backlog = 7}).value();
    const endpoint at = server->get_socket_name(ls).value();
    const handle c1 = w.sched.run(client->connect(at)).value();
    const handle c2 = w.sched.run(client->connect(at)).value();
    const handle s1 = w.sched.run(server->accept(ls)).value();
    REQUIRE(w.sched.run(client->write_all(c1, bytes_of(std::string(100, 'x')))));
    REQUIRE(server->set_socket_option(s1, socket_option::keep_idle, 60));
    REQUIRE(server->set_socket_option(s1, socket_option::keep_alive, 1));
    const endpoint c1_at = client->get_socket_name(c1).value();
    const endpoint c2_at = client->get_socket_name(c2).value();
    // Loopback delivers within the write; poll until the kernel shows the bytes queued.
    std::vector<socket_row> rows;
    const socket_row* accepted = nullptr;
    for (int i = 0; i < 100; ++i) {
        rows = socket_table(w.stack).value();
        accepted = find_row(rows, socket_protocol::tcp, at, c1_at);
        if (accepted != nullptr && accepted->recv_q == 100) break;
        (void)w.sched.run(server->sleep(1ms));
    }

    // The listener, three connection ends (the server's accepted one, the client's two), and
    // no row for the connection the kernel holds in the accept queue.
    REQUIRE(rows.size() == 4);
    const socket_row& listener = rows[0];
    CHECK(listener.state == tcp_state::listen);
    CHECK(listener.local == at);
    CHECK(listener.recv_q == 1); // c2: in the kernel's queue or taken by the multishot accept
    CHECK(listener.send_q == 7);
    REQUIRE(listener.owners.size() == 1);
    CHECK(listener.owners[0].process == "server");
    CHECK(listener.owners[0].id == ls);

    REQUIRE(accepted != nullptr);
    CHECK(accepted->state == tcp_state::established);
    CHECK(accepted->recv_q == 100);
    CHECK(accepted->send_q == 0);
    CHECK(accepted->info.bytes_received == 100);
    CHECK(accepted->timer.kind == timer_kind::keepalive);
    CHECK(accepted->timer.left > 50s);
    CHECK(accepted->timer.left <= 60s);
    CHECK(accepted->timer.retries == 0);
    REQUIRE(accepted->owners.size() == 1);
    CHECK(accepted->owners[0].id == s1);

    const socket_row* client_end = find_row(rows, socket_protocol::tcp, c1_at, at);
    REQUIRE(client_end != nullptr);
    REQUIRE(client_end->owners.size() == 1);
    CHECK(client_end->owners[0].process == "client");
    CHECK(client_end->timer.kind == timer_kind::off);
    CHECK(find_row(rows, socket_protocol::tcp, c2_at, at) != nullptr);

    const std::string text = socket_table_text(rows);
    CHECK(text.find("tcp   LISTEN     1      7      127.0.0.1:") != std::string::npos);
    CHECK(text.find("timer:(keepalive,") != std::string::npos);

    // Closed handles leave the table (the kernel may keep TIME-WAIT: that is ss's to show).
    REQUIRE(client->close(c1));
    REQUIRE(client->close(c2));
    REQUIRE(server->close(s1));
    REQUIRE(server->close(ls));
    w.sched.run_until_idle();
    CHECK(socket_table(w.stack).value().empty());
}

TEST_CASE("host socket table: UDP, bound and connected, with the kernel's queue and drops",
          "[host][socket_table]") {
    world w;
    auto server = process::create("dns", &w.stack);
    const handle u = server->socket(socket_type::datagram).value();
    REQUIRE(server->set_socket_option(u, socket_option::receive_buffer, 1)); // the kernel's least
    REQUIRE(server->bind(u, {loopback, 0}));
    const endpoint at = server->get_socket_name(u).value();
    const handle c = server->socket(socket_type::datagram).value();
    REQUIRE(w.sched.run(server->connect(c, at)));
    const handle unbound = server->socket(socket_type::datagram).value();
    (void)unbound;
    const std::string datagram(200, 'd');
    for (int i = 0; i < 50; ++i)
        REQUIRE(w.sched.run(server->write(c, bytes_of(datagram))));

    const auto rows = socket_table(w.stack).value();
    REQUIRE(rows.size() == 2); // the unbound socket is in no table
    const socket_row* bound = find_row(rows, socket_protocol::udp, at);
    REQUIRE(bound != nullptr);
    CHECK(bound->state == tcp_state::closed);
    CHECK(bound->recv_q > 0); // what the queued datagrams take, as the kernel counts it
    CHECK(bound->drops > 0);  // 50 datagrams do not fit the smallest buffer
    CHECK(bound->drops < 50);
    REQUIRE(bound->owners.size() == 1);
    CHECK(bound->owners[0].id == u);
    const endpoint c_at = server->get_socket_name(c).value();
    const socket_row* connected = find_row(rows, socket_protocol::udp, c_at, at);
    REQUIRE(connected != nullptr);
    CHECK(connected->state == tcp_state::established);
    CHECK(socket_table_text(rows).find("udp   UNCONN") != std::string::npos);
    CHECK(socket_table_text(rows).find("udp   ESTAB") != std::string::npos);
}
