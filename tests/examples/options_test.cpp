// The examples' shared command line (examples/common/options.hpp): the fault and shaper
// flags land in stack_options, bad values are refused, and the flags of what sits in front
// of one NIC queue are refused with the host stack or more than one core.
#include "examples/common/options.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace coronet;
using namespace std::chrono_literals;

namespace {

// Parses `line` (no program name) into a fresh stack_options, with parse_or_exit's checks.
stack_options parsed(const std::string& line) {
    CLI::App app("test");
    stack_options o;
    examples::add_stack_options(app, o);
    app.parse(line, false);
    examples::check_stack_flags(app);
    return o;
}

} // namespace

TEST_CASE("rates in bit/s, with k, M and G", "[examples][options]") {
    CHECK(examples::parse_rate("1") == 1U);
    CHECK(examples::parse_rate("64000") == 64'000U);
    CHECK(examples::parse_rate("64k") == 64'000U);
    CHECK(examples::parse_rate("10M") == 10'000'000U);
    CHECK(examples::parse_rate("2G") == 2'000'000'000U);
    CHECK(examples::parse_rate("9223372036854775807") == 9'223'372'036'854'775'807U);
    for (const char* bad : {"", "0", "0M", "M", "10m", "1.5M", "-1", "10 M", "10Mb",
                            "9223372036854775808", "9300000000G"}) {
        INFO(bad);
        CHECK_FALSE(examples::parse_rate(bad));
    }
}

TEST_CASE("--truncate, --rate and --burst set the faults and the shaper", "[examples][options]") {
    const auto o = parsed("--truncate 1000 --rate 10M --burst 3028 --loss 0.5");
    CHECK(o.faults.truncate == 1000);
    CHECK(o.faults.loss == 0.5);
    CHECK(o.faults.any());
    CHECK(o.shaper_rate_bps == 10'000'000U);
    CHECK(o.shaper_burst_bytes == 3028);
    const auto plain = parsed("");
    CHECK(plain.faults.truncate == 0);
    CHECK_FALSE(plain.faults.any());
    CHECK(plain.shaper_rate_bps == 0);
    CHECK(plain.shaper_burst_bytes == 0);
    CHECK(parsed("--rate 1500k").shaper_burst_bytes == 0); // the default: two full frames
}

TEST_CASE("bad fault and shaper values are refused", "[examples][options]") {
    for (const char* bad : {"--truncate 0", "--truncate 9001", "--truncate x", "--rate 0",
                            "--rate fast", "--rate 10M --burst 0", "--rate 10M --burst 1073741825",
                            "--burst 3028"}) { // a burst without a rate shapes nothing
        INFO(bad);
        CHECK_THROWS_AS(parsed(bad), CLI::ParseError);
    }
}

TEST_CASE("the shaper and the faults need the native stack and one core", "[examples][options]") {
    for (const char* flag : {"--truncate 1000", "--rate 10M", "--loss 0.1", "--pcap x.pcap"}) {
        INFO(flag);
        CHECK_THROWS_AS(parsed(std::string(flag) + " --stack host"), CLI::ValidationError);
        CHECK_THROWS_AS(parsed(std::string(flag) + " --cores 2"), CLI::ValidationError);
        CHECK_NOTHROW(parsed(std::string(flag) + " --cores 1"));
    }
    CHECK_THROWS_AS(parsed("--rate 10M --burst 3028 --cores 0"), CLI::ValidationError);
    CHECK_THROWS_AS(parsed("--tso off --stack host"), CLI::ValidationError);
    CHECK_NOTHROW(parsed("--stack host --cores 2"));
}
