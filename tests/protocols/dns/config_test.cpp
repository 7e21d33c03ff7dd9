// The hosts table and resolv.conf, read as glibc reads them.
#include "protocols/dns/config.hpp"
#include "protocols/dns/resolver.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace coronet;
using namespace coronet::dns;
using namespace std::chrono_literals;

TEST_CASE("dns hosts: comments, several names a line, IPv6 lines skipped", "[dns]") {
    const auto t = hosts_table::parse("# a comment line\n"
                                      "127.0.0.1\tlocalhost\n"
                                      "::1 localhost ip6-localhost   # IPv6: skipped\n"
                                      "10.0.0.5   Db.Example.Test db   # two names\n"
                                      "  10.0.0.6 db.example.test\r\n"
                                      "not-an-address bogus\n"
                                      "10.0.0.7\n"
                                      "10.0.0.8 a..b ok # a bad name is skipped, its line kept");
    CHECK(t.lookup("localhost") == std::vector<ipv4_address>{{127, 0, 0, 1}});
    CHECK(t.lookup("ip6-localhost").empty());
    CHECK(t.lookup("DB.example.test.") == std::vector<ipv4_address>{{10, 0, 0, 5}, {10, 0, 0, 6}});
    CHECK(t.lookup("db") == std::vector<ipv4_address>{{10, 0, 0, 5}});
    CHECK(t.lookup("bogus").empty());
    CHECK(t.lookup("comment").empty());
    CHECK(t.lookup("ok") == std::vector<ipv4_address>{{10, 0, 0, 8}});
    CHECK(t.entries().size() == 5);
}

TEST_CASE("dns resolv.conf: nameservers and options as glibc reads them", "[dns]") {
    const auto c = resolv_config::parse("; a comment\n"
                                        "search example.test\n"
                                        "nameserver 10.0.0.53\n"
                                        "nameserver 2001:db8::1\n"
                                        "nameserver 10.0.0.54 # second\n"
                                        "options ndots:2 timeout:3 attempts:4 rotate\n"
                                        "nameserver 10.0.0.55\n"
                                        "nameserver 10.0.0.56\n");
    CHECK(c.servers ==
          std::vector<endpoint>{{{10, 0, 0, 53}, 53}, {{10, 0, 0, 54}, 53}, {{10, 0, 0, 55}, 53}});
    CHECK(c.timeout == 3s);
    CHECK(c.attempts == 4);
}

TEST_CASE("dns resolv.conf: defaults, caps and bad values", "[dns]") {
    const auto empty = resolv_config::parse("");
    CHECK(empty.servers == std::vector<endpoint>{{{127, 0, 0, 1}, 53}});
    CHECK(empty.timeout == 5s);
    CHECK(empty.attempts == 2);
    const auto capped = resolv_config::parse("options timeout:99 attempts:9\n");
    CHECK(capped.timeout == 30s);
    CHECK(capped.attempts == 5);
    const auto bad = resolv_config::parse("options timeout:x attempts:2x timeout:0\n");
    CHECK(bad.timeout == 1s);
    CHECK(bad.attempts == 2);
}

TEST_CASE("dns config files: read whole, a missing one is ENOENT", "[dns]") {
    const auto path = std::filesystem::temp_directory_path() / "coronet_dns_config_test_hosts";
    {
        std::ofstream out(path);
        out << "10.9.8.7 files.test\n";
    }
    auto text = read_config_file(path);
    REQUIRE(text);
    CHECK(hosts_table::parse(*text).lookup("files.test") ==
          std::vector<ipv4_address>{{10, 9, 8, 7}});
    // The system's options from these paths: a missing resolv.conf is glibc's default.
    const auto system = system_options(path, path.string() + ".missing");
    CHECK(system.hosts.lookup("files.test") == std::vector<ipv4_address>{{10, 9, 8, 7}});
    CHECK(system.config.servers == std::vector<endpoint>{{{127, 0, 0, 1}, 53}});
    std::filesystem::remove(path);
    CHECK(read_config_file(path).error() == ENOENT);
}
