// Packet traces of ICMP errors about TCP (RFC 5927): the error quotes the header of a segment
// we sent, and anyone can forge one. It is believed only when the quoted ports name one of our
// connections and its sequence number is in flight (SND.UNA <= seq <= SND.MAX, RFC 5927
// §4.1); anything else is ignored and counted, and the connection goes on. The quote reaches
// TCP as the native stack's ICMP input hands it over (layer::report_error).
//
// Fragmentation needed: coronet does no path MTU discovery (RFC 1191), so its MTU field is
// never used and an absurd one (below 68, above ours) changes nothing; the error is soft.
#include "tests/protocols/tcp/trace_fixture.hpp"

#include <catch2/catch.hpp>

#include <cerrno>

using namespace coronet;
using namespace coronet::tcp_trace;

namespace {

void icmp(trace& t, std::uint32_t seq_from_iss, int err) {
    t.layer.report_error({us, port(t.local_port)}, {them, port(server_port)}, t.iss + seq_from_iss,
                         err);
    t.settle();
}

} // namespace

TEST_CASE("tcp trace SYN-SENT: a host unreachable quoting a sequence number not in flight is "
          "ignored and counted; the handshake completes",
          "[tcp][trace][icmp][adversarial]") {
    trace t;
    t.syn_sent();
    for (std::uint32_t seq : {2u, 1000u, 0x80000000u, 0xffffffffu})
        icmp(t, seq, EHOSTUNREACH);
    CHECK(t.counter("out_of_window_icmps") == 4);
    CHECK(t.state() == tcp::state::syn_sent);
    CHECK(t.connect_error == -1);
    t.in({.flags = S | A, .seq = 0, .ack = 1, .opts = trace::mss(1460)});
    CHECK(t.out() == "0ms [.] seq 1 ack 1 win 65535 len 0");
    CHECK(t.connect_error == 0);
    CHECK(t.state() == tcp::state::established);
}

TEST_CASE("tcp trace SYN-SENT: a host unreachable quoting our SYN fails connect()",
          "[tcp][trace][icmp]") {
    trace t;
    t.syn_sent();
    icmp(t, 0, EHOSTUNREACH); // the SYN's own sequence number: SND.UNA
    CHECK(t.connect_error == EHOSTUNREACH);
    CHECK(t.sock() == nullptr);
    CHECK(t.counter("out_of_window_icmps") == 0);
}

TEST_CASE("tcp trace: an ICMP error quoting ports of no connection is ignored and counted",
          "[tcp][trace][icmp][adversarial]") {
    trace t;
    t.established();
    t.layer.report_error({us, port(t.local_port)}, {them, port(server_port + 1)}, t.iss,
                         ECONNREFUSED);
    t.layer.report_error({us, port(1)}, {them, port(server_port)}, t.iss, ECONNREFUSED);
    t.settle();
    CHECK(t.counter("icmp_unmatched") == 2);
    CHECK(t.state() == tcp::state::established);
    t.write(10);
    CHECK(t.out() == "0ms [P.] seq 1 ack 1 win 65535 len 10");
}

TEST_CASE("tcp trace ESTABLISHED: fragmentation needed, even quoting data in flight, neither "
          "aborts the connection nor changes its MSS",
          "[tcp][trace][icmp][adversarial]") {
    trace t;
    t.established();
    t.option(socket_option::no_delay, 1);
    t.write(3000);
    (void)t.out_all();
    icmp(t, 1, EMSGSIZE);      // in flight: believed, and soft
    icmp(t, 100000, EMSGSIZE); // not: ignored
    CHECK(t.counter("out_of_window_icmps") == 1);
    CHECK(t.state() == tcp::state::established);
    CHECK(t.sock()->mss() == 1460);
    t.in({.flags = A, .seq = 1, .ack = 3001});
    t.write(2000);
    CHECK(t.out() == "0ms [.] seq 3001 ack 1 win 65535 len 1460");
    CHECK(t.out() == "0ms [P.] seq 4461 ack 1 win 65535 len 540");
}
