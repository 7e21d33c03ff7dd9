// The socket table's printing and owners (framework/process/socket_table.hpp): ss's names
// and time format, the text and JSON of rows built here, owners found through the handle
// tables of this thread's processes (duplicates included, closed handles gone), and a stack
// that cannot list its sockets.
#include "framework/process/process.hpp"
#include "framework/process/socket_table.hpp"
#include "tests/framework/loopback_stack.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

endpoint ep(const char* text) { return endpoint::parse(text).value(); }

const kernel_object* object_of(process& p, handle h) {
    return p.handles().lookup(h, access::none).value();
}

socket_row udp_row() {
    socket_row r;
    r.protocol = socket_protocol::udp;
    r.state = tcp_state::closed;
    r.local = ep("0.0.0.0:5353");
    r.recv_q = 30;
    r.datagrams = 3;
    r.drops = 2;
    return r;
}

socket_row tcp_row() {
    socket_row r;
    r.protocol = socket_protocol::tcp;
    r.state = tcp_state::established;
    r.local = ep("10.0.0.2:80");
    r.remote = ep("10.0.0.1:49152");
    r.recv_q = 100;
    r.send_q = 1000;
    r.timer = {timer_kind::on, 1500ms, 2};
    r.info.state = tcp_state::established;
    r.info.rto = 800000;
    r.info.rtt = 2500;
    r.info.rttvar = 1250;
    r.info.snd_mss = 1448;
    r.info.rcv_mss = 536;
    r.info.advmss = 1460;
    r.info.snd_cwnd = 10;
    r.info.total_retrans = 3;
    r.info.retransmits = 2;
    r.info.bytes_acked = 4096;
    r.info.bytes_received = 100;
    return r;
}

} // namespace

TEST_CASE("socket table: ss's names of states and timers", "[socket_table]") {
    CHECK(state_name(tcp_state::established) == "ESTAB");
    CHECK(state_name(tcp_state::syn_received) == "SYN-RECV");
    CHECK(state_name(tcp_state::time_wait) == "TIME-WAIT");
    CHECK(state_name(tcp_state::listen) == "LISTEN");
    CHECK(state_name(tcp_state::closed) == "UNCONN");
    CHECK(state_name(static_cast<tcp_state>(0)) == "UNKNOWN");
    CHECK(timer_name(timer_kind::on) == "on");
    CHECK(timer_name(timer_kind::keepalive) == "keepalive");
    CHECK(timer_name(timer_kind::timewait) == "timewait");
    CHECK(timer_name(timer_kind::persist) == "persist");
    CHECK(timer_name(timer_kind::off) == "off");
}

TEST_CASE("socket table: time left as ss -o prints it", "[socket_table]") {
    CHECK(timer_text(200ms) == "200ms");
    CHECK(timer_text(1500ms) == "1.500ms"); // ss's own reading of 1.5 s
    CHECK(timer_text(9999ms) == "9.999ms");
    CHECK(timer_text(12345ms) == "12sec");
    CHECK(timer_text(59999ms) == "59sec");
    CHECK(timer_text(60s) == "1min");
    CHECK(timer_text(150s) == "2min30sec");
    CHECK(timer_text(65s) == "1min5sec");
    CHECK(timer_text(15min + 30s) == "15min");
    CHECK(timer_text(999us) == "0ms");
    CHECK(timer_text(-5ms) == "0ms"); // overdue
}

TEST_CASE("socket table: text rows as ss prints them, a TCP_INFO line under a connection",
          "[socket_table]") {
    socket_row listener;
    listener.state = tcp_state::listen;
    listener.local = ep("0.0.0.0:80");
    listener.recv_q = 1;
    listener.send_q = 128;
    listener.owners = {{"web", 7, handle(0x1004)}, {"web \"2\"", 9, handle(0x2008)}};
    socket_row infinite = tcp_row();
    infinite.info.snd_ssthresh = 0x7fffffff; // ss leaves it out, as it does 0
    socket_row halved = tcp_row();
    halved.info.snd_ssthresh = 5;
    CHECK(socket_table_text({infinite}) == socket_table_text({tcp_row()}));
    CHECK(socket_table_text({halved}).find(" cwnd:10 ssthresh:5 bytes_acked:") !=
          std::string::npos);
    const std::string text = socket_table_text({listener, tcp_row(), udp_row()});
    const std::string expected =
        "Netid State      Recv-Q Send-Q Local Address:Port     Peer Address:Port      Process\n"
        "tcp   LISTEN     1      128    0.0.0.0:80             0.0.0.0:*              "
        "users:((\"web\",pid=7,handle=0x1004),(\"web \\\"2\\\"\",pid=9,handle=0x2008))\n"
        "tcp   ESTAB      100    1000   10.0.0.2:80            10.0.0.1:49152         "
        "timer:(on,1.500ms,2)\n"
        "\t rto:800ms rtt:2.5/1.25ms mss:1448 rcvmss:536 advmss:1460 cwnd:10 bytes_acked:4096 "
        "bytes_received:100 segs_out:0 segs_in:0 data_segs_out:0 data_segs_in:0 retrans:2/3 "
        "unacked:0 sacked:0 lost:0 notsent:0 snd_wnd:0 rcv_space:0\n"
        "udp   UNCONN     30     0      0.0.0.0:5353           0.0.0.0:*\n"
        "\t datagrams:3 drops:2\n";
    CHECK(text == expected);
}

TEST_CASE("socket table: JSON rows, owners escaped, a timer only when one runs", "[socket_table]") {
    socket_row u = udp_row();
    u.owners = {{"dns\n", 3, handle(12)}};
    socket_row connected = udp_row();
    connected.state = tcp_state::established;
    connected.remote = ep("10.0.0.1:53");
    connected.recv_q = connected.datagrams = connected.drops = 0;
    CHECK(
        socket_table_json({u, connected}) ==
        "{\"sockets\":["
        "{\"netid\":\"udp\",\"state\":\"UNCONN\",\"local\":\"0.0.0.0:5353\",\"peer\":\"0.0.0.0:*\","
        "\"recv_q\":30,\"send_q\":0,\"owners\":[{\"process\":\"dns\\u000a\",\"pid\":3,"
        "\"handle\":12}],\"datagrams\":3,\"drops\":2},"
        "{\"netid\":\"udp\",\"state\":\"ESTAB\",\"local\":\"0.0.0.0:5353\",\"peer\":\"10.0.0.1:"
        "53\","
        "\"recv_q\":0,\"send_q\":0,\"owners\":[],\"datagrams\":0,\"drops\":0}"
        "]}\n");
    const std::string tcp = socket_table_json({tcp_row()});
    CHECK(tcp.find("\"timer\":{\"kind\":\"on\",\"left_ms\":1500,\"retries\":2}") !=
          std::string::npos);
    CHECK(tcp.find("\"rto_us\":800000,\"snd_mss\":1448") != std::string::npos);
    CHECK(tcp.find("\"total_retrans\":3") != std::string::npos);
    CHECK(socket_table_json({}) == "{\"sockets\":[]}\n");
}

TEST_CASE("socket table: owners are the processes holding a handle, in creation order",
          "[socket_table]") {
    auto first = process::create("first");
    auto second = process::create("second");
    const handle e = first->create_event().value();
    const handle f = first->create_event().value();
    const handle copy = first->duplicate_handle(e, *second, access::all).value();
    std::vector<socket_row> rows(3);
    rows[0].object = object_of(*first, e);
    rows[1].object = object_of(*first, f);
    rows[2].object = nullptr; // a socket no handle names (an accept queue's, TIME-WAIT)
    add_owners(rows);
    REQUIRE(rows[0].owners.size() == 2);
    CHECK(rows[0].owners[0].process == "first");
    CHECK(rows[0].owners[0].pid == first->id());
    CHECK(rows[0].owners[0].id == e);
    CHECK(rows[0].owners[1].process == "second");
    CHECK(rows[0].owners[1].pid == second->id());
    CHECK(rows[0].owners[1].id == copy);
    REQUIRE(rows[1].owners.size() == 1);
    CHECK(rows[1].owners[0].id == f);
    CHECK(rows[2].owners.empty());
    CHECK(first->id() != second->id());

    // A closed handle, or a process that ended, owns nothing any more.
    REQUIRE(second->close(copy));
    first->terminate("test over");
    add_owners(rows);
    CHECK(rows[0].owners.empty());
    CHECK(rows[1].owners.empty());
}

TEST_CASE("socket table: a process that is gone is off its thread's list", "[socket_table]") {
    const auto before = process::on_this_thread().size();
    {
        auto p = process::create("brief");
        const auto now = process::on_this_thread();
        REQUIRE(now.size() == before + 1);
        CHECK(now.back() == p.get());
    }
    CHECK(process::on_this_thread().size() == before);
}

TEST_CASE("socket table: a stack that cannot list its sockets says EOPNOTSUPP", "[socket_table]") {
    testing::loopback_stack stack;
    auto rows = socket_table(stack);
    REQUIRE_FALSE(rows);
    CHECK(rows.error() == EOPNOTSUPP);
}
