// The native stack's socket table in simulation (socket_table(stack), protocols/tcp and
// protocols/udp socket_rows): a listener's queues, connections with their queues, timers
// (keepalive, retransmission with its backoffs, TIME-WAIT) and owners (none in an accept
// queue or TIME-WAIT), bound and connected UDP sockets with the datagrams queued and
// dropped, and the JSON a scraper reads.
#include "framework/process/socket_table.hpp"
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace coronet;
using namespace coronet::tcp_test;

namespace {

std::vector<socket_row> table_of(sim::host& h) {
    auto rows = socket_table(h.stack());
    REQUIRE(rows);
    return *rows;
}

// The one row with this protocol, local and remote endpoint.
const socket_row& row(const std::vector<socket_row>& rows, socket_protocol proto,
                      const endpoint& local, const endpoint& remote = {}) {
    const socket_row* found = nullptr;
    for (const auto& r : rows)
        if (r.protocol == proto && r.local == local && r.remote == remote) {
            REQUIRE(found == nullptr);
            found = &r;
        }
    REQUIRE(found != nullptr);
    return *found;
}

std::span<const std::byte> bytes(const std::string& s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

struct served {
    pair_world pw;
    ref<process> server = pw.b.create_process("server");
    ref<process> client = pw.a.create_process("client");
    handle ls = server->listen({ipv4_any, port(7000)}, {.backlog = 5}).value();
    handle c1{}, c2{}, s1{};
    endpoint c1_at, c2_at;

    // Two connections to the listener; the server accepts the first only.
    served() {
        (void)pw.w.run(pw.a.stack().ping(b_addr));
        c1 = pw.w.run(client->connect({b_addr, port(7000)})).value();
        c2 = pw.w.run(client->connect({b_addr, port(7000)})).value();
        s1 = pw.w.run(server->accept(ls)).value();
        c1_at = client->get_socket_name(c1).value();
        c2_at = client->get_socket_name(c2).value();
    }
    ~served() {
        server->terminate("test over");
        client->terminate("test over");
        pw.w.run(server->join());
        pw.w.run(client->join());
    }
};

} // namespace

TEST_CASE("socket table (native): a listener, an accepted connection with unread bytes and "
          "keepalive, one waiting in the accept queue",
          "[socket_table]") {
    served s;
    REQUIRE(s.pw.w.run(s.client->write_all(s.c1, bytes(std::string(100, 'x')))));
    REQUIRE(s.server->set_socket_option(s.s1, socket_option::keep_idle, 60));
    REQUIRE(s.server->set_socket_option(s.s1, socket_option::keep_alive, 1));
    s.pw.w.run_for(50ms);

    const auto rows = table_of(s.pw.b);
    REQUIRE(rows.size() == 3);
    const socket_row& listener = rows[0]; // listeners first
    CHECK(listener.protocol == socket_protocol::tcp);
    CHECK(listener.state == tcp_state::listen);
    CHECK(to_string(listener.local) == "0.0.0.0:7000");
    CHECK(listener.recv_q == 1); // c2, not accepted
    CHECK(listener.send_q == 5);
    CHECK(listener.timer.kind == timer_kind::off);
    REQUIRE(listener.owners.size() == 1);
    CHECK(listener.owners[0].process == "b/server");
    CHECK(listener.owners[0].pid == s.server->id());
    CHECK(listener.owners[0].id == s.ls);

    const socket_row& accepted = row(rows, socket_protocol::tcp, {b_addr, port(7000)}, s.c1_at);
    CHECK(accepted.state == tcp_state::established);
    CHECK(accepted.recv_q == 100);
    CHECK(accepted.send_q == 0);
    CHECK(accepted.timer.kind == timer_kind::keepalive);
    CHECK(accepted.timer.left > 59s);
    CHECK(accepted.timer.left <= 60s);
    CHECK(accepted.timer.retries == 0);
    CHECK(accepted.info.bytes_received == 100);
    CHECK(accepted.info.snd_mss == 1448);
    REQUIRE(accepted.owners.size() == 1);
    CHECK(accepted.owners[0].id == s.s1);

    const socket_row& queued = row(rows, socket_protocol::tcp, {b_addr, port(7000)}, s.c2_at);
    CHECK(queued.state == tcp_state::established);
    CHECK(queued.owners.empty()); // no handle names it until accept()
    CHECK(queued.timer.kind == timer_kind::off);

    // The client's side on a: two connections of its process, and no listener.
    const auto client_rows = table_of(s.pw.a);
    REQUIRE(client_rows.size() == 2);
    const socket_row& c1 = row(client_rows, socket_protocol::tcp, s.c1_at, {b_addr, port(7000)});
    REQUIRE(c1.owners.size() == 1);
    CHECK(c1.owners[0].process == "a/client");
    CHECK(c1.info.bytes_acked == 100);

    const std::string text = socket_table_text(rows);
    CHECK(text.rfind("Netid State      Recv-Q Send-Q Local Address:Port", 0) == 0);
    CHECK(text.find("tcp   LISTEN     1      5      0.0.0.0:7000") != std::string::npos);
    CHECK(text.find("users:((\"b/server\",pid=" + std::to_string(s.server->id()) + ",handle=0x") !=
          std::string::npos);
    CHECK(text.find("timer:(keepalive,59sec,0)") != std::string::npos);
    CHECK(text.find(" rto:") != std::string::npos);
}

TEST_CASE("socket table (native): data the peer does not acknowledge shows the retransmission "
          "timer with its backoffs, and Send-Q holds it",
          "[socket_table]") {
    served s;
    s.pw.link.cut(s.pw.b.nic_at(0), s.pw.a.nic_at(0)); // nothing from b reaches a
    REQUIRE(s.pw.w.run(s.server->write_all(s.s1, bytes(std::string(1000, 'y')))));
    s.pw.w.run_for(std::chrono::seconds(3));
    const auto rows = table_of(s.pw.b);
    const socket_row& r = row(rows, socket_protocol::tcp, {b_addr, port(7000)}, s.c1_at);
    CHECK(r.send_q == 1000);
    CHECK(r.timer.kind == timer_kind::on);
    CHECK(r.timer.retries >= 1);
    CHECK(r.timer.retries == r.info.retransmits);
    CHECK(r.timer.left > duration::zero());
    CHECK(r.info.total_retrans >= 1);
    CHECK(socket_table_text(rows).find("timer:(on,") != std::string::npos);
}

TEST_CASE("socket table (native): the side that closed first waits in TIME-WAIT, owned by no "
          "process, with the 2 MSL timer",
          "[socket_table]") {
    served s;
    REQUIRE(s.client->close(s.c1));
    s.pw.w.run_for(50ms);
    std::array<std::byte, 16> buf{};
    auto eof = s.pw.w.run(s.server->read(s.s1, buf));
    REQUIRE(eof);
    CHECK(*eof == 0);
    REQUIRE(s.server->close(s.s1));
    s.pw.w.run_for(50ms);
    const auto rows = table_of(s.pw.a);
    const socket_row& r = row(rows, socket_protocol::tcp, s.c1_at, {b_addr, port(7000)});
    CHECK(r.state == tcp_state::time_wait);
    CHECK(r.owners.empty());
    CHECK(r.timer.kind == timer_kind::timewait);
    CHECK(r.timer.left > 59s); // 2 MSL of 30 s, 100 ms in
    CHECK(r.timer.left <= 60s);
    CHECK(socket_table_text(rows).find("TIME-WAIT") != std::string::npos);
    CHECK(socket_table_text(rows).find("timer:(timewait,59sec,0)") != std::string::npos);
}

TEST_CASE("socket table (native): UDP sockets, bound (UNCONN) and connected (ESTAB), with the "
          "datagrams queued and those a full queue dropped",
          "[socket_table]") {
    pair_world pw;
    auto server = pw.b.create_process("dns");
    auto client = pw.a.create_process("client");
    auto other = pw.b.create_process("other");
    (void)pw.w.run(pw.a.stack().ping(b_addr));
    const handle u = server->socket(socket_type::datagram).value();
    REQUIRE(server->bind(u, {ipv4_any, port(5353)}));
    // The first datagram always fits; the rest find the queue full.
    REQUIRE(server->set_socket_option(u, socket_option::receive_buffer, 1));
    const handle copy = server->duplicate_handle(u, *other, access::all).value();
    const handle uc = server->socket(socket_type::datagram).value();
    REQUIRE(pw.w.run(server->connect(uc, {a_addr, port(9)})));
    const handle unbound = server->socket(socket_type::datagram).value(); // in no table
    const handle cu = client->socket(socket_type::datagram).value();
    for (int i = 0; i < 3; ++i)
        REQUIRE(pw.w.run(client->send_to(cu, bytes("ten bytes!"), {b_addr, port(5353)})));
    pw.w.run_for(50ms);

    const auto rows = table_of(pw.b);
    REQUIRE(rows.size() == 2);
    const socket_row& bound = row(rows, socket_protocol::udp, {ipv4_any, port(5353)});
    CHECK(bound.state == tcp_state::closed);
    CHECK(bound.recv_q == 10);
    CHECK(bound.datagrams == 1);
    CHECK(bound.drops == 2);
    CHECK(pw.b.counters_text().find("udp: rcvbuf_errors 2\n") != std::string::npos);
    REQUIRE(bound.owners.size() == 2);
    CHECK(bound.owners[0].process == "b/dns");
    CHECK(bound.owners[1].process == "b/other");
    CHECK(bound.owners[1].id == copy);
    const endpoint uc_at = server->get_socket_name(uc).value();
    const socket_row& connected = row(rows, socket_protocol::udp, uc_at, {a_addr, port(9)});
    CHECK(connected.state == tcp_state::established);

    const std::string json = socket_table_json(rows);
    const std::string bound_json =
        "{\"netid\":\"udp\",\"state\":\"UNCONN\",\"local\":\"0.0.0.0:5353\",\"peer\":\"0.0.0.0:*\","
        "\"recv_q\":10,\"send_q\":0,\"owners\":[{\"process\":\"b/dns\",\"pid\":" +
        std::to_string(server->id()) + ",\"handle\":" + std::to_string(u.value()) +
        "},{\"process\":\"b/other\",\"pid\":" + std::to_string(other->id()) +
        ",\"handle\":" + std::to_string(copy.value()) + "}],\"datagrams\":1,\"drops\":2}";
    CHECK(json.find(bound_json) != std::string::npos);
    CHECK(json.find("\"state\":\"ESTAB\",\"local\":\"" + to_string(uc_at) +
                    "\",\"peer\":\"10.0.0.1:9\"") != std::string::npos);
    const std::string text = socket_table_text(rows);
    CHECK(text.find("udp   UNCONN     10     0      0.0.0.0:5353") != std::string::npos);
    CHECK(text.find("\t datagrams:1 drops:2\n") != std::string::npos);

    // Closing every handle unbinds: the row goes.
    REQUIRE(server->close(u));
    CHECK(table_of(pw.b).size() == 2); // `other` still holds it
    REQUIRE(other->close(copy));
    CHECK(table_of(pw.b).size() == 1);
    REQUIRE(server->close(unbound));
}
