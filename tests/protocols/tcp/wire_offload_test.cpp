// TCP over an in-memory wire whose NICs offload: checksums left to the NIC, 64 KiB TSO
// segments passed whole to a receiver that takes them (as Linux's loopback passes GSO
// packets), or cut by the sending NIC when the receiver does not or faults are set, so that
// loss, corruption and reordering still strike MTU-sized frames. In every case the bytes
// arrive intact, both ways.
#include "tests/protocols/tcp/sim_fixture.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using namespace coronet::tcp_test;
using namespace std::chrono_literals;

namespace {

const nic_features takes_gso{.tx_checksum_offload = true, .tso = true, .rx_gso = true};
const nic_features sends_tso{.tx_checksum_offload = true, .tso = true};

wire_config offload_wire(fault_config faults = {}) {
    return {.latency = 1ms, .bandwidth_bps = 1'000'000'000, .mtu = 1500, .faults = faults};
}

std::uint64_t wire_counter(pair_world& pw, const char* name) {
    return pw.link.registry().find("wire0")->find(name)->value;
}

void check_intact(const transfer_outcome& out, const std::vector<std::byte>& a_to_b,
                  const std::vector<std::byte>& b_to_a) {
    CHECK(out.client_ok);
    CHECK(out.server_ok);
    CHECK(first_difference(out.at_server, a_to_b) == a_to_b.size());
    CHECK(out.at_server.size() == a_to_b.size());
    CHECK(first_difference(out.at_client, b_to_a) == b_to_a.size());
    CHECK(out.at_client.size() == b_to_a.size());
}

} // namespace

TEST_CASE("tcp over offloading NICs: TSO segments cross the wire whole, nothing is summed, "
          "4 MiB each way intact",
          "[tcp][tso][wire]") {
    pair_world pw(tcp::config{}, offload_wire(), takes_gso, takes_gso);
    const auto up = pattern(4 << 20, 1);
    const auto down = pattern(4 << 20, 2);
    const auto out = transfer(pw, up, down);
    check_intact(out, up, down);
    CHECK(wire_counter(pw, "gso_passed_whole") > 0);
    CHECK(wire_counter(pw, "gso_segmented") == 0);
    CHECK(wire_counter(pw, "checksums_filled") == 0);
    // 8 MiB in 1,448-byte segments would be 5,800 frames; whole TSO frames are far fewer.
    CHECK(wire_counter(pw, "frames_carried") < 2000);
    CHECK(pw.tcp_counter(pw.a, "retrans_segs") == 0);
    CHECK(pw.tcp_counter(pw.b, "retrans_segs") == 0);
    CHECK(pw.tcp_counter(pw.b, "in_csum_errors") == 0);
}

TEST_CASE("tcp over offloading NICs: a receiver without GSO gets segments the sender's NIC "
          "cut, each checksummed",
          "[tcp][tso][wire]") {
    pair_world pw(tcp::config{}, offload_wire(), sends_tso, {});
    const auto up = pattern(4 << 20, 3);
    const auto out = transfer(pw, up, {});
    check_intact(out, up, {});
    CHECK(wire_counter(pw, "gso_passed_whole") == 0);
    CHECK(wire_counter(pw, "gso_segmented") > 0);
    CHECK(wire_counter(pw, "gso_segments") > wire_counter(pw, "gso_segmented"));
    CHECK(wire_counter(pw, "checksums_filled") >= wire_counter(pw, "gso_segments"));
    CHECK(pw.tcp_counter(pw.b, "in_csum_errors") == 0);
    CHECK(pw.tcp_counter(pw.a, "retrans_segs") == 0);
}

TEST_CASE("tcp over offloading NICs with faults: the TSO frames are cut, so loss, "
          "reordering and corruption strike single segments, and the bytes arrive intact",
          "[tcp][tso][wire][faults]") {
    const auto up = pattern(2 << 20, 4);
    const auto down = pattern(2 << 20, 5);
    SECTION("2 % loss") {
        pair_world pw(tcp::config{}, offload_wire({.loss = 0.02}), takes_gso, takes_gso);
        check_intact(transfer(pw, up, down), up, down);
        CHECK(wire_counter(pw, "gso_passed_whole") == 0);
        CHECK(wire_counter(pw, "gso_segmented") > 0);
        CHECK(wire_counter(pw, "lost") > 0);
        CHECK(pw.tcp_counter(pw.a, "retrans_segs") > 0);
    }
    SECTION("1 % reordering") {
        pair_world pw(tcp::config{}, offload_wire({.reorder = 0.01}), takes_gso, takes_gso);
        check_intact(transfer(pw, up, down), up, down);
        CHECK(wire_counter(pw, "reordered") > 0);
        CHECK(wire_counter(pw, "gso_segmented") > 0);
    }
    SECTION("1 % corruption: the corrupted frames get real checksums, and fail them") {
        pair_world pw(tcp::config{}, offload_wire({.corrupt = 0.01}), takes_gso, takes_gso);
        check_intact(transfer(pw, up, down), up, down);
        CHECK(wire_counter(pw, "corrupted") > 0);
        // Uncorrupted frames still travel with partial checksums; corrupted ones do not.
        CHECK(wire_counter(pw, "partial_checksums_passed") > 0);
        CHECK(wire_counter(pw, "checksums_filled") > 0);
        const auto caught = pw.tcp_counter(pw.a, "in_csum_errors") +
                            pw.tcp_counter(pw.b, "in_csum_errors");
        CHECK(caught > 0);
    }
}
