// pcap capture: the file's bytes as libpcap defines them, both directions of a NIC, switching
// the tap on and off, snaplen, and tshark reading the file without complaint.
#include "drivers/capture/capture.hpp"
#include "drivers/wire/wire.hpp"
#include "framework/coronet.hpp"
#include "tests/drivers/frame_bytes.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <vector>

using namespace coronet;
using coronet::testing::bytes_of;
using coronet::testing::packet_from;
using namespace std::chrono_literals;

namespace {

nic_config named(const char* name, std::uint8_t id) {
    nic_config c;
    c.name = name;
    c.mac = mac_address{2, 0, 0, 0, 0, id};
    return c;
}

// An Ethernet frame from `src` to `dst` with a local-experimental ethertype.
packet make_frame(buffer_pool& pool, std::size_t length, std::uint8_t src, std::uint8_t dst) {
    std::vector<std::byte> bytes(length);
    for (std::size_t i = 0; i < length; ++i)
        bytes[i] = std::byte(static_cast<unsigned char>(i));
    mac_address{2, 0, 0, 0, 0, dst}.write_to(std::span(bytes).subspan(0, 6));
    mac_address{2, 0, 0, 0, 0, src}.write_to(std::span(bytes).subspan(6, 6));
    bytes[12] = std::byte{0x88};
    bytes[13] = std::byte{0xb5};
    return packet_from(pool, bytes);
}

struct temp_file {
    explicit temp_file(const std::string& stem)
        : path(std::filesystem::temp_directory_path() /
               (stem + "-" + std::to_string(::getpid()) + ".pcap")) {}
    ~temp_file() { std::filesystem::remove(path); }
    std::filesystem::path path;
};

std::vector<unsigned char> read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

template <class T>
T load(const std::vector<unsigned char>& file, std::size_t at) {
    T v;
    std::memcpy(&v, file.data() + at, sizeof v);
    return v;
}

struct record {
    std::uint32_t sec, usec, incl, orig;
    std::vector<std::byte> bytes;
};

std::vector<record> parse_records(const std::vector<unsigned char>& file) {
    std::vector<record> out;
    for (std::size_t at = 24; at + 16 <= file.size();) {
        record r{load<std::uint32_t>(file, at),
                 load<std::uint32_t>(file, at + 4),
                 load<std::uint32_t>(file, at + 8),
                 load<std::uint32_t>(file, at + 12),
                 {}};
        at += 16;
        REQUIRE(at + r.incl <= file.size());
        for (std::uint32_t i = 0; i < r.incl; ++i)
            r.bytes.push_back(std::byte{file[at + i]});
        at += r.incl;
        out.push_back(std::move(r));
    }
    return out;
}

struct echo final : frame_sink { // sends every frame it receives back out of its NIC
    wire_nic* out = nullptr;
    buffer_pool* pool = nullptr;
    result<> push(packet&& frame) override {
        packet reply = packet::allocate(*pool).value();
        counter copied;
        reply.append(bytes_of(frame), copied).value();
        return out->transmit(std::move(reply));
    }
};

struct capture_world {
    virtual_clock clk{time_point{} + 1'700'000'000s + 250us};
    scheduler s{{.time_source = &clk}};
    counter_registry reg;
    buffer_pool pa, pb;
    wire w{s, {.latency = 40us, .bandwidth_bps = 1'000'000'000}};
    wire_nic& a = w.attach(reg, named("a", 1), pa);
    wire_nic& b = w.attach(reg, named("b", 2), pb);
    echo back;
    capture_world() {
        back.out = &b;
        back.pool = &pb;
        b.attach(&back);
    }
};

} // namespace

TEST_CASE("the pcap file header is libpcap's 2.4 for Ethernet", "[capture][pcap]") {
    temp_file f("coronet-header");
    { pcap_writer w(f.path); }
    const auto file = read_all(f.path);
    REQUIRE(file.size() == 24);
    CHECK(load<std::uint32_t>(file, 0) == 0xa1b2c3d4);
    CHECK(load<std::uint16_t>(file, 4) == 2);
    CHECK(load<std::uint16_t>(file, 6) == 4);
    CHECK(load<std::int32_t>(file, 8) == 0);
    CHECK(load<std::uint32_t>(file, 12) == 0);
    CHECK(load<std::uint32_t>(file, 16) == 262144);
    CHECK(load<std::uint32_t>(file, 20) == 1);
}

TEST_CASE("a path that cannot be created is a start-up failure", "[capture][pcap]") {
    CHECK_THROWS_AS(pcap_writer("/nonexistent-dir/x.pcap"), std::system_error);
}

TEST_CASE("a capture records both directions with their times and bytes", "[capture]") {
    temp_file f("coronet-both");
    capture_world world;
    std::vector<std::vector<std::byte>> sent;
    {
        pcap_writer out(f.path);
        capture cap(world.a, out);
        cap.start();
        for (std::uint8_t i = 0; i < 3; ++i) {
            packet p = make_frame(world.pa, 60 + i * 100, 1, 2);
            sent.push_back(bytes_of(p));
            REQUIRE(world.a.transmit(std::move(p)));
            world.s.run_until_idle();
        }
        CHECK(cap.frames() == 6);
        CHECK(out.records() == 6);
    }
    auto records = parse_records(read_all(f.path));
    REQUIRE(records.size() == 6);
    std::int64_t t = 1'700'000'000LL * 1'000'000'000 + 250'000; // ns
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& tx = records[2 * i];
        const auto& rx = records[2 * i + 1];
        CHECK(tx.bytes == sent[i]);
        CHECK(rx.bytes == sent[i]); // the echo, byte for byte
        CHECK(tx.incl == tx.orig);
        CHECK(tx.orig == sent[i].size());
        CHECK(std::int64_t{tx.sec} * 1'000'000 + tx.usec == t / 1000);
        // There and back: 2 x (serialisation at 1 Gbit/s + 40 us), serialisation in whole ns.
        const auto ser_ns = static_cast<std::int64_t>(sent[i].size()) * 8;
        const auto back_ns = 2 * (ser_ns + 40'000);
        CHECK(std::int64_t{rx.sec} * 1'000'000 + rx.usec == (t + back_ns) / 1000);
        t += back_ns; // each run_until_idle ends at the echo's arrival
    }
}

TEST_CASE("a capture can be switched on and off, and for one direction", "[capture]") {
    temp_file f("coronet-switch");
    capture_world world;
    {
        pcap_writer out(f.path);
        capture rx_only(world.a, out, capture_directions::rx);
        REQUIRE(world.a.transmit(make_frame(world.pa, 64, 1, 2))); // not captured: off
        world.s.run_until_idle();
        rx_only.start();
        CHECK(rx_only.running());
        REQUIRE(world.a.transmit(make_frame(world.pa, 65, 1, 2))); // its echo is captured
        world.s.run_until_idle();
        rx_only.stop();
        REQUIRE(world.a.transmit(make_frame(world.pa, 66, 1, 2)));
        world.s.run_until_idle();
        CHECK(rx_only.frames() == 1);
    }
    auto records = parse_records(read_all(f.path));
    REQUIRE(records.size() == 1);
    CHECK(records[0].orig == 65);
}

TEST_CASE("frames longer than the snaplen are cut, keeping their length", "[capture][pcap]") {
    temp_file f("coronet-snap");
    buffer_pool big({.buffer_size = 4096, .buffer_count = 80});
    std::vector<std::byte> bytes(300'000);
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = std::byte(static_cast<unsigned char>(i * 13));
    counter copied;
    packet p = packet::allocate(big).value();
    p.append(bytes, copied).value();
    REQUIRE(p.slice_count() > 1);
    {
        pcap_writer out(f.path);
        REQUIRE(out.write(p, time_point{} + 3s + 1500ns));
    }
    auto records = parse_records(read_all(f.path));
    REQUIRE(records.size() == 1);
    CHECK(records[0].sec == 3);
    CHECK(records[0].usec == 1);
    CHECK(records[0].incl == 262144);
    CHECK(records[0].orig == 300'000);
    CHECK(std::equal(records[0].bytes.begin(), records[0].bytes.end(), bytes.begin()));
}

TEST_CASE("tshark reads a capture cleanly, with the same frames and times", "[capture][tshark]") {
    if (std::system("command -v tshark > /dev/null 2>&1") != 0) {
        WARN("tshark is not installed: apt-get install -y tshark");
        return;
    }
    temp_file f("coronet-tshark");
    capture_world world;
    {
        pcap_writer out(f.path);
        capture cap(world.a, out);
        cap.start();
        for (std::uint8_t i = 0; i < 5; ++i) {
            REQUIRE(world.a.transmit(make_frame(world.pa, 60 + i * 300, 1, 2)));
            world.s.run_until_idle();
        }
    }
    const auto expected = parse_records(read_all(f.path));
    REQUIRE(expected.size() == 10);

    const std::string err = f.path.string() + ".err";
    const std::string cmd = "tshark -n -r '" + f.path.string() +
                            "' -T fields -e frame.number -e frame.time_epoch -e frame.len "
                            "-e eth.src -e eth.type 2> '" +
                            err + "'";
    std::FILE* pipe = ::popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::vector<std::string> lines;
    char line[512];
    while (std::fgets(line, sizeof line, pipe) != nullptr)
        lines.emplace_back(line);
    const int status = ::pclose(pipe);
    std::ifstream err_in(err);
    std::string complaints((std::istreambuf_iterator<char>(err_in)),
                           std::istreambuf_iterator<char>());
    std::filesystem::remove(err);
    CHECK(status == 0);
    // tshark warns about running as root; anything else on stderr is a problem with the file.
    INFO(complaints);
    CHECK(complaints.find("rror") == std::string::npos);
    CHECK(complaints.find("damaged") == std::string::npos);
    CHECK(complaints.find("cut short") == std::string::npos);
    REQUIRE(lines.size() == expected.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        unsigned number = 0, len = 0;
        unsigned long sec = 0, nsec = 0;
        char src[32] = {}, type[16] = {};
        REQUIRE(std::sscanf(lines[i].c_str(), "%u\t%lu.%lu\t%u\t%31s\t%15s", &number, &sec, &nsec,
                            &len, src, type) == 6);
        CHECK(number == i + 1);
        CHECK(sec == expected[i].sec);
        CHECK(nsec / 1000 == expected[i].usec);
        CHECK(len == expected[i].orig);
        CHECK(std::string(src) == "02:00:00:00:00:01"); // the echo copies the frame as it is
        CHECK(std::string(type) == "0x88b5");
    }
}
