#include "protocols/tcp/send_buffer.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using coronet::buffer_pool;
using coronet::buffer_pool_options;
using coronet::counter;
using coronet::packet;
using coronet::tcp::send_buffer;
using coronet::tcp::seq32;

namespace {

std::string text(std::size_t n, std::size_t from = 0) {
    std::string s;
    for (std::size_t i = from; i < from + n; ++i)
        s += static_cast<char>('a' + i % 26);
    return s;
}
std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s)); }
std::string contents(const packet& p) {
    std::string s(p.length(), '\0');
    REQUIRE(p.copy_out(0, std::as_writable_bytes(std::span(s))));
    return s;
}

struct fixture {
    buffer_pool pool{buffer_pool_options{.buffer_size = 1024, .buffer_count = 64}};
    counter copied;
};

} // namespace

TEST_CASE_METHOD(fixture, "write copies into pool buffers, counted, up to the capacity") {
    send_buffer sb(pool, 3000, seq32{1000});
    const auto data = text(2500);
    CHECK(sb.write(as_bytes(data), copied).value() == 2500);
    CHECK(copied.value == 2500);
    CHECK(sb.size() == 2500);
    CHECK(sb.free_space() == 500);
    CHECK(sb.end() == seq32{3500});
    CHECK(pool.in_use() == 3);                              // 1024 + 1024 + 452
    CHECK(sb.write(as_bytes(data), copied).value() == 500); // what fits
    CHECK(sb.free_space() == 0);
    CHECK(sb.write(as_bytes(data), copied).value() == 0); // full: the writer waits
    CHECK(copied.value == 3000);
    CHECK(contents(sb.segment(seq32{1000}, 3000).value()) == data + data.substr(0, 500));
}

TEST_CASE_METHOD(fixture, "small writes fill a buffer before taking the next") {
    send_buffer sb(pool, 1 << 20, seq32{0});
    for (int i = 0; i < 10; ++i)
        REQUIRE(sb.write(as_bytes(text(100)), copied).value() == 100);
    CHECK(pool.in_use() == 1);
    CHECK(sb.chunk_count() == 1);
    REQUIRE(sb.write(as_bytes(text(100)), copied).value() == 100);
    CHECK(pool.in_use() == 2);
}

TEST_CASE_METHOD(fixture, "segment shares the buffered bytes, without copying") {
    send_buffer sb(pool, 1 << 20, seq32{0});
    const auto data = text(3000);
    REQUIRE(sb.write(as_bytes(data), copied));
    const auto copied_before = copied.value;
    auto seg = sb.segment(seq32{500}, 1460);
    REQUIRE(seg);
    CHECK(contents(*seg) == data.substr(500, 1460));
    CHECK(seg->slice_count() == 2); // spans two buffers
    CHECK(copied_before == copied.value);
    CHECK(pool.in_use() == 3); // no new buffer
    // A retransmission shares the same bytes again.
    auto again = sb.segment(seq32{500}, 1460);
    REQUIRE(again);
    CHECK((*again->slices().begin()).data() == (*seg->slices().begin()).data());
}

TEST_CASE_METHOD(fixture, "segment outside the buffered range is EINVAL") {
    send_buffer sb(pool, 1 << 20, seq32{100});
    REQUIRE(sb.write(as_bytes(text(1000)), copied));
    CHECK(sb.segment(seq32{99}, 10).error() == EINVAL);
    CHECK(sb.segment(seq32{1000}, 101).error() == EINVAL);
    CHECK(sb.segment(seq32{1100}, 1).error() == EINVAL);
    CHECK(sb.segment(seq32{1100}, 0).value().empty());
    CHECK(sb.segment(seq32{1099}, 1).value().length() == 1);
}

TEST_CASE_METHOD(fixture, "acknowledge releases fully acknowledged buffers") {
    send_buffer sb(pool, 1 << 20, seq32{0});
    const auto data = text(3000);
    REQUIRE(sb.write(as_bytes(data), copied));
    CHECK(sb.acknowledge(seq32{500}) == 500);
    CHECK(sb.begin() == seq32{500});
    CHECK(pool.in_use() == 3);
    CHECK(sb.acknowledge(seq32{2048}) == 1548);
    CHECK(pool.in_use() == 1);
    CHECK(contents(sb.segment(seq32{2048}, 952).value()) == data.substr(2048));
    CHECK(sb.acknowledge(seq32{2048}) == 0); // not ahead
    CHECK(sb.acknowledge(seq32{3001}) == 0); // beyond what was sent
    CHECK(sb.acknowledge(seq32{3000}) == 952);
    CHECK(sb.empty());
    CHECK(pool.in_use() == 0);
}

TEST_CASE_METHOD(fixture, "a segment in flight keeps its bytes after the ACK and later writes") {
    send_buffer sb(pool, 1 << 20, seq32{0});
    REQUIRE(sb.write(as_bytes(text(100)), copied));
    auto in_flight = sb.segment(seq32{0}, 100);
    REQUIRE(in_flight);
    // The tail buffer is shared now: the next write must not go into it.
    REQUIRE(sb.write(as_bytes(text(100, 100)), copied));
    CHECK(pool.in_use() == 2);
    CHECK(contents(*in_flight) == text(100));
    CHECK(contents(sb.segment(seq32{0}, 200).value()) == text(200));
    sb.acknowledge(seq32{100});
    CHECK(contents(*in_flight) == text(100)); // still alive until the NIC lets go
    in_flight->reset();
    CHECK(pool.in_use() == 1);
}

TEST_CASE_METHOD(fixture, "send_zc appends the caller's buffer without copying") {
    buffer_pool user{buffer_pool_options{.buffer_size = 4096, .buffer_count = 4}};
    send_buffer sb(pool, 8000, seq32{0});
    REQUIRE(sb.write(as_bytes(text(10)), copied));
    auto buf = user.allocate();
    REQUIRE(buf);
    const auto payload = text(4000, 10);
    std::memcpy(buf->data().data(), payload.data(), payload.size());
    auto zc = packet::wrap(*buf, 0, 4000);
    REQUIRE(zc);
    const auto copied_before = copied.value;
    REQUIRE(sb.send_zc(std::move(*zc)));
    CHECK(copied.value == copied_before);
    CHECK(sb.size() == 4010);
    auto seg = sb.segment(seq32{5}, 1000);
    REQUIRE(seg);
    CHECK(contents(*seg) == text(1000, 5));
    auto it = seg->slices().begin();
    ++it;
    CHECK((*it).data() == buf->data().data()); // the caller's bytes themselves
    // Writes after a zero-copy chunk go to a new buffer of the stack's pool.
    REQUIRE(sb.write(as_bytes(text(10, 4010)), copied).value() == 10);
    CHECK(contents(sb.segment(seq32{0}, 4020).value()) == text(4020));
    // Whole or nothing.
    auto big = packet::wrap(*buf, 0, 4096);
    CHECK(sb.send_zc(std::move(*big)).error() == EAGAIN);
    sb.acknowledge(seq32{4020});
    auto huge = packet::wrap(*buf, 0, 4096);
    REQUIRE(huge->length() == 4096);
    sb.set_capacity(4000);
    CHECK(sb.send_zc(std::move(*huge)).error() == EMSGSIZE);
    seg->reset();
    buf->reset();
}

TEST_CASE_METHOD(fixture, "sequence numbers wrap at 2^32") {
    send_buffer sb(pool, 1 << 20, seq32{0xffff'fc00u});
    const auto data = text(3000);
    REQUIRE(sb.write(as_bytes(data), copied));
    CHECK(sb.end() == seq32{0xffff'fc00u} + 3000);
    CHECK(contents(sb.segment(seq32{0xffff'fff0u}, 0x20).value()) == data.substr(1008, 32));
    CHECK(sb.acknowledge(seq32{0x10}) == 1040);
    CHECK(contents(sb.segment(seq32{0x10}, 100).value()) == data.substr(1040, 100));
}

TEST_CASE_METHOD(fixture, "shrinking the capacity drops nothing") {
    send_buffer sb(pool, 2000, seq32{0});
    REQUIRE(sb.write(as_bytes(text(2000)), copied));
    sb.set_capacity(1000);
    CHECK(sb.free_space() == 0);
    CHECK(sb.size() == 2000);
    sb.acknowledge(seq32{1500});
    CHECK(sb.free_space() == 500);
}

TEST_CASE("write reports ENOBUFS when the pool is empty") {
    buffer_pool tiny{buffer_pool_options{.buffer_size = 64, .buffer_count = 2}};
    counter copied;
    send_buffer sb(tiny, 1000, seq32{0});
    const auto data = text(200);
    CHECK(sb.write(as_bytes(data), copied).value() == 128); // two buffers' worth
    CHECK(sb.write(as_bytes(data), copied).error() == ENOBUFS);
    CHECK(copied.value == 128);
    CHECK(sb.size() == 128);
}
