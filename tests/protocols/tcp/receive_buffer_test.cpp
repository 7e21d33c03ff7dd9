#include "protocols/tcp/receive_buffer.hpp"
#include "tests/protocols/tcp/received_payload.hpp"

#include <catch2/catch.hpp>

#include <string>

using coronet::buffer_pool;
using coronet::buffer_pool_options;
using coronet::counter;
using coronet::packet;
using coronet::tcp::receive_buffer;
using coronet::tcp_test::text;

namespace {

std::string contents(const packet& p) {
    std::string s(p.length(), '\0');
    REQUIRE(p.copy_out(0, std::as_writable_bytes(std::span(s))));
    return s;
}

struct fixture {
    buffer_pool pool{buffer_pool_options{.buffer_size = 2048, .buffer_count = 16}};
    counter wire; // bytes the "NIC" wrote while building frames
    counter copied;

    // A received segment's payload behind a 54-byte header that input already pulled.
    packet received(std::size_t n, std::size_t from) {
        return coronet::tcp_test::received_payload(pool, wire, n, from);
    }
};

} // namespace

TEST_CASE_METHOD(fixture, "in-order packets are appended without copying; window shrinks") {
    receive_buffer rb(10000);
    CHECK(rb.window() == 10000);
    rb.append(received(1000, 0));
    rb.append(received(500, 1000));
    CHECK(rb.size() == 1500);
    CHECK(rb.window() == 8500);
    CHECK(copied.value == 0);
    CHECK(pool.in_use() == 2);
}

TEST_CASE_METHOD(fixture, "read copies out, counts and frees, reopening the window") {
    receive_buffer rb(10000);
    rb.append(received(1000, 0));
    rb.append(received(500, 1000));
    std::string out(1200, '\0');
    CHECK(rb.read(std::as_writable_bytes(std::span(out)), copied) == 1200);
    CHECK(out == text(1200));
    CHECK(copied.value == 1200);
    CHECK(rb.size() == 300);
    CHECK(rb.window() == 9700);
    CHECK(pool.in_use() == 1); // the first frame is freed
    out.assign(1000, '\0');
    CHECK(rb.read(std::as_writable_bytes(std::span(out)), copied) == 300);
    CHECK(out.substr(0, 300) == text(300, 1200));
    CHECK(rb.empty());
    CHECK(pool.in_use() == 0); // the last frame too
    CHECK(rb.read(std::as_writable_bytes(std::span(out)), copied) == 0);
    CHECK(copied.value == 1500);
}

TEST_CASE_METHOD(fixture, "read_zc lends the received packets, copying nothing") {
    receive_buffer rb(10000);
    rb.append(received(1000, 0));
    rb.append(received(500, 1000));
    auto part = rb.read_zc(700);
    REQUIRE(part);
    CHECK(contents(*part) == text(700));
    CHECK(rb.size() == 800);
    auto rest = rb.read_zc();
    REQUIRE(rest);
    CHECK(contents(*rest) == text(800, 700));
    CHECK(rb.empty());
    CHECK(rb.window() == 10000);
    CHECK(copied.value == 0);
    CHECK(pool.in_use() == 2); // lent, not freed
    part->reset();
    rest->reset();
    CHECK(pool.in_use() == 0);
    CHECK(rb.read_zc().value().empty());
}

TEST_CASE_METHOD(fixture, "set_capacity tunes the window; shrinking below size drops nothing") {
    receive_buffer rb(1000);
    rb.append(received(800, 0));
    CHECK(rb.window() == 200);
    rb.set_capacity(4000);
    CHECK(rb.window() == 3200);
    rb.set_capacity(500);
    CHECK(rb.window() == 0);
    CHECK(rb.size() == 800);
    rb.append(packet{}); // an empty payload changes nothing
    CHECK(rb.size() == 800);
}

TEST_CASE_METHOD(fixture, "small payloads are copied into the room after the data, not a buffer each") {
    receive_buffer rb(10000);
    rb.append(received(1000, 0));
    for (std::size_t i = 0; i < 12; ++i) rb.append(received(10, 1000 + 10 * i));
    CHECK(rb.size() == 1120);
    CHECK(pool.in_use() == 1); // 12 frames came and went; their bytes sit after the first's
    std::string out(1120, '\0');
    CHECK(rb.read(std::as_writable_bytes(std::span(out)), copied) == 1120);
    CHECK(out == text(1120));
    // The first segment of all is linked (nothing to copy it after), and so are payloads of
    // coalesce_below bytes or more.
    rb.append(received(10, 0));
    rb.append(received(receive_buffer::coalesce_below, 10));
    CHECK(pool.in_use() == 2);
}
