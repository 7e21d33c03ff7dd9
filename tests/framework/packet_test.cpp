#include "framework/buffer/packet.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

using namespace coronet;

namespace {

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

std::string text(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The whole packet, copied out.
std::string contents(const packet& p) {
    std::string s(p.length(), '\0');
    REQUIRE(p.copy_out(0, std::as_writable_bytes(std::span(s))));
    return s;
}

std::vector<std::string> slice_texts(const packet& p) {
    std::vector<std::string> out;
    for (auto s : p.slices())
        out.push_back(text(s));
    return out;
}

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + i % 26);
    return s;
}

void write(std::span<std::byte> to, std::string_view s) {
    REQUIRE(to.size() == s.size());
    std::memcpy(to.data(), s.data(), s.size());
}

// Every test runs over small pools and ends with every buffer and descriptor back.
struct pools {
    buffer_pool pool{{.buffer_size = 256, .buffer_count = 8, .slice_count = 16}};
    counter copied;
    ~pools() {
        CHECK(pool.in_use() == 0);
        CHECK(pool.slices().in_use() == 0);
    }
};

} // namespace

TEST_CASE_METHOD(pools, "allocate gives an empty packet with headroom", "[packet]") {
    auto p = packet::allocate(pool).value();
    CHECK(p.length() == 0);
    CHECK(p.empty());
    CHECK(p.slice_count() == 1);
    CHECK(p.headroom() == packet::default_headroom);
    CHECK(p.pool() == &pool);
    CHECK(pool.in_use() == 1);
    CHECK(pool.slices().in_use() == 1);
    CHECK(packet::allocate(pool, 257).error() == EINVAL);

    packet moved = std::move(p);
    CHECK(p.slice_count() == 0);
    CHECK(moved.slice_count() == 1);
    CHECK(pool.in_use() == 1);
}

TEST_CASE_METHOD(pools, "headers are pushed into the headroom, in front of the payload",
                 "[packet]") {
    auto p = packet::allocate(pool, 64).value();
    REQUIRE(p.append(bytes("PAYLOAD"), copied));
    auto tcp = p.push_header(4).value();
    write(tcp, "TCP.");
    auto eth = p.push_header(2).value();
    write(eth, "E.");

    CHECK(contents(p) == "E.TCP.PAYLOAD");
    CHECK(p.slice_count() == 1);
    CHECK(p.headroom() == 58);
    // The bytes landed just before the payload, in the same buffer.
    const auto index = pool.index_of(eth.data()).value();
    CHECK(eth.data() == pool.data(index).data() + 58);
    CHECK(tcp.data() == pool.data(index).data() + 60);

    REQUIRE(p.pull_header(2));
    CHECK(contents(p) == "TCP.PAYLOAD");
    CHECK(p.headroom() == 60);
    REQUIRE(p.pull_header(4));
    CHECK(contents(p) == "PAYLOAD");
    CHECK(p.pull_header(8).error() == ENODATA);
    CHECK(contents(p) == "PAYLOAD");
    REQUIRE(p.pull_header(7));
    CHECK(p.empty());
}

TEST_CASE_METHOD(pools, "a header too big for the headroom goes into a new head buffer",
                 "[packet]") {
    SECTION("in front of the payload") {
        auto p = packet::allocate(pool, 4).value();
        REQUIRE(p.append(bytes("data"), copied));
        write(p.push_header(10).value(), "0123456789");
        CHECK(p.slice_count() == 2);
        CHECK(slice_texts(p) == std::vector<std::string>{"0123456789", "data"});
        CHECK(p.headroom() == 256 - 10); // the next header goes in front, in the same buffer
        write(p.push_header(2).value(), "xy");
        CHECK(p.slice_count() == 2);
        CHECK(contents(p) == "xy0123456789data");
    }
    SECTION("replacing an empty head slice") {
        auto p = packet::allocate(pool, 4).value();
        write(p.push_header(10).value(), "0123456789");
        CHECK(p.slice_count() == 1);
        CHECK(pool.in_use() == 1);
        CHECK(contents(p) == "0123456789");
    }
    SECTION("larger than a buffer") {
        auto p = packet::allocate(pool).value();
        CHECK(p.push_header(257).error() == EMSGSIZE);
        CHECK(p.slice_count() == 1);
    }
    SECTION("a default packet has no pool to take it from") {
        packet p;
        CHECK(p.push_header(4).error() == EINVAL);
    }
}

TEST_CASE_METHOD(pools, "pull_header crosses slices", "[packet]") {
    auto p = packet::allocate(pool, 0).value();
    const auto payload = pattern(600); // 256 + 256 + 88
    REQUIRE(p.append(bytes(payload), copied));
    REQUIRE(p.slice_count() == 3);
    REQUIRE(p.pull_header(300));
    CHECK(p.slice_count() == 2);
    CHECK(pool.in_use() == 2);
    CHECK(contents(p) == payload.substr(300));
    REQUIRE(p.pull_header(300));
    CHECK(p.empty());
    CHECK(p.slice_count() == 1);
}

TEST_CASE_METHOD(pools, "a header pushed on a shared buffer leaves the other view intact",
                 "[packet]") {
    auto p = packet::allocate(pool).value();
    REQUIRE(p.append(bytes("payload"), copied));
    write(p.push_header(3).value(), "IP.");
    auto q = p.share().value();
    CHECK(p.headroom() == 0); // shared: its headroom may not be written
    CHECK(q.headroom() == 0);

    write(q.push_header(4).value(), "ETH.");
    write(p.push_header(4).value(), "VLAN");
    CHECK(contents(q) == "ETH.IP.payload");
    CHECK(contents(p) == "VLANIP.payload");
    CHECK(q.slice_count() == 2);
    CHECK(p.slice_count() == 2);
    CHECK(pool.in_use() == 3);

    // Pulling is only a view change: the other packet still sees its header.
    REQUIRE(q.pull_header(7));
    CHECK(contents(q) == "payload");
    CHECK(contents(p) == "VLANIP.payload");
}

TEST_CASE_METHOD(pools, "shared packets see the same bytes; buffers return after both",
                 "[packet]") {
    auto p = packet::allocate(pool, 0).value();
    const auto payload = pattern(300);
    REQUIRE(p.append(bytes(payload), copied));
    auto q = p.share().value();
    CHECK(contents(q) == payload);
    CHECK(q.slice_count() == p.slice_count());
    CHECK(q.length() == p.length());
    CHECK(pool.in_use() == 2);
    CHECK(pool.slices().in_use() == 4);
    // Same buffers, not copies.
    CHECK((*p.slices().begin()).data() == (*q.slices().begin()).data());

    p.reset();
    CHECK(pool.in_use() == 2);
    CHECK(contents(q) == payload);
    q.reset();
    CHECK(pool.in_use() == 0);
}

TEST_CASE_METHOD(pools, "split on a slice boundary cuts the chain", "[packet]") {
    auto p = packet::allocate(pool, 0).value();
    const auto payload = pattern(600);
    REQUIRE(p.append(bytes(payload), copied));
    const auto descriptors = pool.slices().in_use();

    auto tail = p.split(256).value();
    CHECK(pool.slices().in_use() == descriptors); // nothing allocated
    CHECK(p.length() == 256);
    CHECK(p.slice_count() == 1);
    CHECK(tail.length() == 344);
    CHECK(tail.slice_count() == 2);
    CHECK(contents(p) == payload.substr(0, 256));
    CHECK(contents(tail) == payload.substr(256));

    SECTION("at the end: an empty tail") {
        auto none = p.split(256).value();
        CHECK(none.length() == 0);
        CHECK(none.slice_count() == 0);
        CHECK(p.length() == 256);
    }
    SECTION("at zero: everything moves") {
        auto all = tail.split(0).value();
        CHECK(tail.length() == 0);
        CHECK(tail.slice_count() == 0);
        CHECK(contents(all) == payload.substr(256));
    }
    SECTION("past the end") {
        CHECK(p.split(257).error() == ENODATA);
        CHECK(p.length() == 256);
    }
}

TEST_CASE_METHOD(pools, "split inside a slice shares the buffer cut in two", "[packet]") {
    auto p = packet::allocate(pool, 16).value();
    REQUIRE(p.append(bytes("headerpayload"), copied));
    p.meta().timestamp_ns = 42;
    p.meta().offload.flags = packet_offload::needs_csum;

    auto tail = p.split(6).value();
    CHECK(contents(p) == "header");
    CHECK(contents(tail) == "payload");
    CHECK(p.slice_count() == 1);
    CHECK(tail.slice_count() == 1);
    CHECK(pool.in_use() == 1);
    const auto index = pool.index_of((*p.slices().begin()).data()).value();
    CHECK(pool.use_count(index) == 2);
    CHECK(tail.meta().timestamp_ns == 42);
    CHECK(tail.meta().offload.flags == 0);
    CHECK(p.meta().offload.flags == packet_offload::needs_csum);

    // The shared boundary buffer is written by neither side.
    CHECK(p.append(bytes("!"), copied));
    CHECK(p.slice_count() == 2);
    CHECK(contents(tail) == "payload");
    write(tail.push_header(1).value(), "#");
    CHECK(contents(p) == "header!");
    CHECK(contents(tail) == "#payload");
}

TEST_CASE_METHOD(pools, "trim keeps the first bytes and frees the rest", "[packet]") {
    auto p = packet::allocate(pool, 0).value();
    const auto payload = pattern(600);
    REQUIRE(p.append(bytes(payload), copied));
    CHECK(pool.in_use() == 3);

    p.trim(1000); // longer than the packet: nothing happens
    CHECK(p.length() == 600);
    p.trim(300);
    CHECK(p.length() == 300);
    CHECK(p.slice_count() == 2);
    CHECK(pool.in_use() == 2);
    CHECK(contents(p) == payload.substr(0, 300));
    p.trim(256); // exactly a slice boundary
    CHECK(p.slice_count() == 1);
    CHECK(pool.in_use() == 1);
    p.trim(10);
    CHECK(contents(p) == payload.substr(0, 10));
    p.trim(0);
    CHECK(p.empty());
    CHECK(p.slice_count() == 1); // the head slice stays, with its headroom
}

TEST_CASE_METHOD(pools, "append(packet&&) concatenates the chains", "[packet]") {
    auto p = packet::allocate(pool, 16).value();
    REQUIRE(p.append(bytes("first "), copied));
    auto q = packet::allocate(pool, 16).value(); // its empty head slice is not carried over
    REQUIRE(q.append(bytes("second"), copied));
    auto r = packet::allocate(pool).value();

    p.append(std::move(q));
    p.append(std::move(r));
    CHECK(q.length() == 0);
    CHECK(q.slice_count() == 0);
    CHECK(r.slice_count() == 0);
    CHECK(contents(p) == "first second");
    CHECK(p.slice_count() == 2);
    CHECK(pool.in_use() == 2);

    packet empty;
    empty.append(std::move(p));
    CHECK(empty.pool() == &pool);
    CHECK(contents(empty) == "first second");
}

TEST_CASE_METHOD(pools, "append_slice hands a user buffer over without copying", "[packet]") {
    auto user = pool.allocate().value();
    write(user.data().first(11), "hello world");

    auto p = packet::allocate(pool).value();
    REQUIRE(p.append_slice(user, 6, 5));
    REQUIRE(p.append_slice(user, 0, 5));
    CHECK(copied.value == 0);
    CHECK(user.use_count() == 3);
    CHECK(contents(p) == "worldhello");
    CHECK(slice_texts(p) == std::vector<std::string>{"", "world", "hello"});
    // The packet's spans point into the user's buffer.
    auto it = p.slices().begin();
    ++it;
    CHECK((*it).data() == user.data().data() + 6);
    // Headers still go into the packet's own head buffer.
    write(p.push_header(2).value(), "H:");
    CHECK(contents(p) == "H:worldhello");
    CHECK(p.slice_count() == 3);

    CHECK(p.append_slice(user, 250, 7).error() == EINVAL);
    CHECK(p.append_slice(buffer_ref(), 0, 1).error() == EINVAL);
    p.reset();
    CHECK(user.use_count() == 1);
}

TEST_CASE_METHOD(pools, "append copies bytes in and counts every byte copied", "[packet]") {
    auto p = packet::allocate(pool).value(); // 128 headroom, 128 left in the first buffer
    const auto payload = pattern(500);
    REQUIRE(p.append(bytes(payload), copied));
    CHECK(copied.value == 500);
    CHECK(p.length() == 500);
    CHECK(p.slice_count() == 3); // 128 + 256 + 116
    CHECK(contents(p) == payload);
    REQUIRE(p.append(bytes("xyz"), copied)); // into the tail's room
    CHECK(copied.value == 503);
    CHECK(p.slice_count() == 3);
    CHECK(p.append(std::span<const std::byte>(), copied));
    CHECK(copied.value == 503);

    std::string out(503, '\0');
    counter read_copied;
    REQUIRE(p.copy_out(0, std::as_writable_bytes(std::span(out)), read_copied));
    CHECK(read_copied.value == 503);
    CHECK(out == payload + "xyz");
}

TEST_CASE_METHOD(pools, "copy_out reads across slices", "[packet]") {
    auto p = packet::allocate(pool, 0).value();
    const auto payload = pattern(600);
    REQUIRE(p.append(bytes(payload), copied));
    std::string out(100, '\0');
    REQUIRE(p.copy_out(200, std::as_writable_bytes(std::span(out))));
    CHECK(out == payload.substr(200, 100));
    REQUIRE(p.copy_out(500, std::as_writable_bytes(std::span(out))));
    CHECK(out == payload.substr(500, 100));
    CHECK(p.copy_out(501, std::as_writable_bytes(std::span(out))).error() == ENODATA);
    CHECK(p.copy_out(700, std::as_writable_bytes(std::span(out).first(0))).error() == ENODATA);
}

TEST_CASE_METHOD(pools, "front is a view of the first bytes when they lie in one buffer",
                 "[packet]") {
    auto user = pool.allocate().value();
    write(user.data().first(8), "abcdefgh");
    auto p = packet::allocate(pool).value(); // an empty head slice, then two user slices
    REQUIRE(p.append_slice(user, 0, 4));
    REQUIRE(p.append_slice(user, 4, 4));

    CHECK(text(p.front(4).value()) == "abcd");
    CHECK(p.front(0).value().empty());
    CHECK(p.front(5).error() == packet::not_contiguous.code);
    CHECK(p.front(9).error() == packet::too_short.code);
    std::string out(5, '\0');
    REQUIRE(p.copy_out(0, std::as_writable_bytes(std::span(out))));
    CHECK(out == "abcde");
}

TEST_CASE_METHOD(pools, "iterating a packet yields its slices as spans", "[packet]") {
    auto p = packet::allocate(pool, 250).value();
    REQUIRE(p.append(bytes("012345"), copied)); // 6 bytes fit in the head buffer
    REQUIRE(p.append(bytes("6789"), copied));   // 0 left: a new buffer
    write(p.push_header(3).value(), "hdr");
    std::vector<std::size_t> sizes;
    for (auto s : p.slices())
        sizes.push_back(s.size());
    CHECK(sizes == std::vector<std::size_t>{9, 4});
    CHECK(slice_texts(p) == std::vector<std::string>{"hdr012345", "6789"});
    CHECK(std::distance(p.slices().begin(), p.slices().end()) == 2);
}

TEST_CASE_METHOD(pools, "wrap makes a received frame a packet", "[packet]") {
    std::vector<std::uint32_t> reposted;
    pool.on_release([&](std::uint32_t i) {
        reposted.push_back(i);
        pool.recycle(i); // a ring would take it; here it goes back to the free list
    });
    const auto posted = pool.lend().value();
    write(pool.data(posted).first(18), "ETHERNETHEADpaylod");
    {
        auto frame = packet::wrap(pool.adopt(posted), 0, 18).value();
        CHECK(frame.length() == 18);
        REQUIRE(frame.pull_header(12));
        CHECK(contents(frame) == "paylod");
        // The buffer is the frame's alone: a reply header goes back in place.
        CHECK(frame.headroom() == 12);
        write(frame.push_header(2).value(), "RE");
        CHECK(frame.slice_count() == 1);
        CHECK(reposted.empty());
    }
    CHECK(reposted == std::vector<std::uint32_t>{posted});
    CHECK(packet::wrap(buffer_ref(), 0, 0).error() == EINVAL);
}

TEST_CASE_METHOD(pools, "running out of buffers mid-append leaves the packet unchanged",
                 "[packet]") {
    auto p = packet::allocate(pool).value();
    REQUIRE(p.append(bytes("keep"), copied));
    std::vector<buffer_ref> hog;
    for (int i = 0; i < 5; ++i)
        hog.push_back(pool.allocate().value()); // 2 left
    const auto before = pool.in_use();
    const auto failures = pool.allocation_failures();

    const auto big = pattern(124 + 3 * 256); // needs 3 new buffers
    CHECK(p.append(bytes(big), copied).error() == ENOBUFS);
    CHECK(pool.allocation_failures() == failures + 1);
    CHECK(pool.in_use() == before);
    CHECK(p.length() == 4);
    CHECK(p.slice_count() == 1);
    CHECK(contents(p) == "keep");
    CHECK(copied.value == 4);

    hog.pop_back();
    REQUIRE(p.append(bytes(big), copied));
    CHECK(contents(p) == "keep" + big);
    hog.clear();
}

TEST_CASE_METHOD(pools, "running out of descriptors leaves packets unchanged", "[packet]") {
    auto p = packet::allocate(pool, 0).value();
    const auto payload = pattern(600);
    REQUIRE(p.append(bytes(payload), copied)); // 3 descriptors
    std::vector<packet> hog;
    // Take descriptors until 2 are left, by wrapping one buffer many times.
    auto user = pool.allocate().value();
    while (pool.slices().in_use() < 14)
        hog.push_back(packet::wrap(user, 0, 1).value());
    const auto failures = pool.slices().allocation_failures();

    SECTION("share") {
        CHECK(p.share().error() == ENOBUFS);
        CHECK(pool.slices().in_use() == 14); // the two taken were given back
        CHECK(pool.in_use() == 4);
    }
    SECTION("split inside a slice") {
        hog.push_back(packet::wrap(user, 0, 1).value());
        hog.push_back(packet::wrap(user, 0, 1).value());
        CHECK(p.split(100).error() == ENOBUFS);
        CHECK(p.slice_count() == 3);
        CHECK(contents(p) == payload);
        // On a boundary no descriptor is needed.
        auto tail = p.split(512).value();
        CHECK(contents(tail) == payload.substr(512));
    }
    SECTION("allocate") {
        hog.push_back(packet::wrap(user, 0, 1).value());
        hog.push_back(packet::wrap(user, 0, 1).value());
        const auto buffers = pool.in_use();
        CHECK(packet::allocate(pool).error() == ENOBUFS);
        CHECK(pool.in_use() == buffers);
        CHECK(p.push_header(4).error() == ENOBUFS); // its head buffer is full: needs a new one
        CHECK(contents(p) == payload);
        CHECK(p.append_slice(user, 0, 1).error() == ENOBUFS);
        CHECK(p.slice_count() == 3);
    }
    CHECK(pool.slices().allocation_failures() > failures);
}

TEST_CASE_METHOD(pools, "offload offsets follow the front as headers come and go", "[packet]") {
    auto p = packet::allocate(pool).value();
    REQUIRE(p.append(bytes("payload"), copied));
    (void)p.push_header(20).value(); // TCP
    auto& off = p.meta().offload;
    off.flags = packet_offload::needs_csum;
    off.csum_start = 0;
    off.csum_offset = 16;
    off.gso_type = packet_offload::gso_tcpv4;
    off.hdr_len = 20;
    off.gso_size = 1460;
    (void)p.push_header(20).value(); // IPv4
    (void)p.push_header(14).value(); // Ethernet
    CHECK(off.csum_start == 34);
    CHECK(off.hdr_len == 54);
    CHECK(off.csum_offset == 16);
    REQUIRE(p.pull_header(14));
    CHECK(off.csum_start == 20);
    CHECK(off.hdr_len == 40);
    REQUIRE(p.pull_header(40)); // past the headers: nothing left to offload
    CHECK(off.flags == 0);
    CHECK(off.gso_type == packet_offload::gso_none);

    auto q = p.share().value();
    q.meta().timestamp_ns = 7;
    CHECK(p.meta().timestamp_ns == 0); // metadata is per packet
}
