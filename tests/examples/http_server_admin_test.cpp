// coronet-httpd's admin port in simulation: /metrics in the Prometheus text format (the
// stack's counters and the server's own, gauges typed as gauges) and /counters, served on a
// listener of its own that max_connections does not limit, and never on the public port.
#include "tests/examples/http_world.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace coronet;
using namespace coronet::examples;
using namespace coronet::examples::test;
using namespace std::chrono_literals;

namespace {

const endpoint admin_at{ipv4_address(10, 0, 0, 2), port(9090)};

httpd_config with_admin(std::size_t max_connections = 100) {
    httpd_config c;
    c.admin_port = 9090;
    c.max_connections = max_connections;
    return c;
}

std::string body_of(const std::string& response) {
    const auto at = response.find("\r\n\r\n");
    return at == std::string::npos ? std::string() : response.substr(at + 4);
}

} // namespace

TEST_CASE("httpd admin port: /metrics has the stack's counters and the server's own",
          "[examples][httpd]") {
    std::string hello, metrics;
    http_world hw(with_admin());
    hw.st.stack_counters = &hw.pw.b.counters();
    hw.clients->spawn(fetch(*hw.clients, server_at, "/hello", hello));
    hw.pw.w.run_for(1s);
    REQUIRE(hello.find("HTTP/1.1 200 OK") == 0);
    hw.clients->spawn(fetch(*hw.clients, admin_at, "/metrics", metrics));
    hw.pw.w.run_for(1s);

    REQUIRE(metrics.find("HTTP/1.1 200 OK") == 0);
    CHECK(metrics.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
    const std::string body = body_of(metrics);
    // The admin connection itself is established while /metrics is read.
    CHECK(body.find("# TYPE coronet_tcp_curr_estab gauge\ncoronet_tcp_curr_estab 1\n") !=
          std::string::npos);
    CHECK(body.find("# TYPE coronet_tcp_active_opens counter\n") != std::string::npos);
    CHECK(body.find("# TYPE coronet_memory_queued_buffers gauge\n") != std::string::npos);
    CHECK(body.find("# TYPE coronet_tcp_accept_queue_connections gauge\n") != std::string::npos);
    CHECK(body.find("# TYPE coronet_httpd_requests counter\ncoronet_httpd_requests 1\n") !=
          std::string::npos);
    // Every sample line is a metric name and an integer; every metric has its TYPE line.
    std::size_t samples = 0, types = 0;
    for (std::size_t at = 0; at < body.size();) {
        const auto end = body.find('\n', at);
        REQUIRE(end != std::string::npos);
        const std::string line = body.substr(at, end - at);
        at = end + 1;
        if (line.rfind("# TYPE coronet_", 0) == 0) {
            ++types;
            continue;
        }
        ++samples;
        const auto space = line.find(' ');
        REQUIRE(space != std::string::npos);
        CHECK(line.rfind("coronet_", 0) == 0);
        CHECK(line.find_first_not_of(
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == space);
        CHECK(line.find_first_not_of("0123456789", space + 1) == std::string::npos);
    }
    CHECK(samples > 50);
    CHECK(samples == types);
}

TEST_CASE("httpd admin port: /counters as lines; other paths 404; no metrics on the public port",
          "[examples][httpd]") {
    std::string counters, other, public_metrics;
    http_world hw(with_admin());
    hw.st.stack_counters = &hw.pw.b.counters();
    hw.clients->spawn(fetch(*hw.clients, admin_at, "/counters", counters));
    hw.clients->spawn(fetch(*hw.clients, admin_at, "/hello", other));
    hw.clients->spawn(fetch(*hw.clients, server_at, "/metrics", public_metrics));
    hw.pw.w.run_for(2s);
    REQUIRE(counters.find("HTTP/1.1 200 OK") == 0);
    CHECK(body_of(counters).find("\ntcp: passive_opens ") != std::string::npos);
    CHECK(other.find("HTTP/1.1 404") == 0);
    CHECK(public_metrics.find("HTTP/1.1 404") == 0);
    CHECK(hw.st.connections == 0);
}

TEST_CASE("httpd admin port: served while max_connections are all held", "[examples][httpd]") {
    client_result holder; // before the world: its client writes into it until it ends
    std::string refused, metrics;
    http_world hw(with_admin(1));
    hw.st.stack_counters = &hw.pw.b.counters();
    // Holds the one slot: a request head that never ends.
    hw.clients->spawn(client(*hw.clients, "GET /hello HTTP/1.1\r\n", SIZE_MAX, 0s, holder));
    hw.pw.w.run_for(1s);
    hw.clients->spawn(fetch(*hw.clients, server_at, "/hello", refused));
    hw.clients->spawn(fetch(*hw.clients, admin_at, "/metrics", metrics));
    hw.pw.w.run_for(1s);
    CHECK(refused.find("HTTP/1.1 503") == 0);
    REQUIRE(metrics.find("HTTP/1.1 200 OK") == 0);
    CHECK(body_of(metrics).find("coronet_httpd_connections 1\n") != std::string::npos);
}

TEST_CASE("httpd admin port: /connections lists the listeners and connections as ss does, "
          "/connections.json the same as JSON",
          "[examples][httpd]") {
    client_result holder; // before the world: its client writes into it until it ends
    std::string text, json;
    http_world hw(with_admin());
    // One client keeps a connection open with a request head that never ends.
    hw.clients->spawn(client(*hw.clients, "GET /hello HTTP/1.1\r\n", SIZE_MAX, 0s, holder));
    hw.pw.w.run_for(1s);
    hw.clients->spawn(fetch(*hw.clients, admin_at, "/connections", text));
    hw.clients->spawn(fetch(*hw.clients, admin_at, "/connections.json", json));
    hw.pw.w.run_for(1s);

    REQUIRE(text.find("HTTP/1.1 200 OK") == 0);
    const std::string table = body_of(text);
    CHECK(table.rfind("Netid State", 0) == 0);
    // Both listeners, owned by the server's process, the held connection and the admin
    // connection reading this.
    const std::string owner = "users:((\"b/httpd\",pid=" + std::to_string(hw.server->id());
    CHECK(table.find("tcp   LISTEN     0      1024   0.0.0.0:8080") != std::string::npos);
    CHECK(table.find("tcp   LISTEN     0      16     0.0.0.0:9090") != std::string::npos);
    CHECK(table.find(owner) != std::string::npos);
    std::size_t established = 0;
    for (std::size_t at = table.find("tcp   ESTAB"); at != std::string::npos;
         at = table.find("tcp   ESTAB", at + 1))
        ++established;
    CHECK(established >= 2);
    CHECK(table.find("10.0.0.1:") != std::string::npos); // the peers
    CHECK(table.find("\n\t sack ts wscale:") != std::string::npos); // TCP_INFO

    REQUIRE(json.find("HTTP/1.1 200 OK") == 0);
    CHECK(json.find("Content-Type: application/json") != std::string::npos);
    const std::string doc = body_of(json);
    CHECK(doc.rfind("{\"sockets\":[{\"netid\":\"tcp\",\"state\":\"LISTEN\"", 0) == 0);
    CHECK(doc.find("\"state\":\"ESTAB\"") != std::string::npos);
    CHECK(doc.find("\"owners\":[{\"process\":\"b/httpd\"") != std::string::npos);
    CHECK(doc.find("\"snd_mss\":1448") != std::string::npos);
    CHECK(doc.ends_with("]}\n"));
}
