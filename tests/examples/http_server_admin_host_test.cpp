// coronet-httpd's admin port on the host stack, over loopback in a network namespace of the
// test's own (its fixed ports then collide with nobody's): /connections and
// /connections.json list the kernel sockets the server holds, with their owner, as on the
// native stack.
#include "drivers/host/host_stack.hpp"
#include "examples/common/http_server.hpp"
#include "framework/coronet.hpp"
#include "tests/examples/http_world.hpp"
#include "tests/integration/netns.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace coronet;
using namespace coronet::examples;
using namespace coronet::examples::test;
using namespace std::chrono_literals;

TEST_CASE("httpd admin port on the host stack: /connections lists the kernel's sockets of the "
          "server, with their owner",
          "[examples][httpd][host]") {
    CORONET_ENTER_NETNS();
    httpd_config cfg;
    cfg.port = 8080;
    cfg.admin_port = 9090;
    server_state st{cfg};
    scheduler sched;
    uring::uring_reactor reactor{sched};
    host::host_stack stack{reactor};
    auto server = process::create("httpd", &stack);
    auto clients = process::create("clients", &stack);
    server->spawn(http_serve(*server, st));
    const endpoint admin{ipv4_address(127, 0, 0, 1), port(9090)};
    std::string text, json;
    // The server listens at its first turn; a refused connect (not yet) is tried again.
    for (int i = 0; i < 100 && text.empty(); ++i) {
        sched.run(fetch(*clients, admin, "/connections", text));
        if (text.empty()) (void)sched.run(clients->sleep(10ms));
    }
    sched.run(fetch(*clients, admin, "/connections.json", json));
    server->terminate("test over");
    sched.run(server->join());

    REQUIRE(text.rfind("HTTP/1.1 200 OK", 0) == 0);
    const std::string table = text.substr(text.find("\r\n\r\n") + 4);
    CHECK(table.rfind("Netid State", 0) == 0);
    const std::string owner = "users:((\"httpd\",pid=" + std::to_string(server->id());
    CHECK(table.find("tcp   LISTEN     0      1024   0.0.0.0:8080") != std::string::npos);
    CHECK(table.find("tcp   LISTEN     0      16     0.0.0.0:9090") != std::string::npos);
    CHECK(table.find(owner) != std::string::npos);
    // The admin connection that asked, seen from the server's end.
    CHECK(table.find("tcp   ESTAB      ") != std::string::npos);
    CHECK(table.find("127.0.0.1:9090") != std::string::npos);
    CHECK(table.find(" rto:") != std::string::npos);

    REQUIRE(json.rfind("HTTP/1.1 200 OK", 0) == 0);
    CHECK(json.find("{\"sockets\":[{\"netid\":\"tcp\",\"state\":\"LISTEN\"") != std::string::npos);
    CHECK(json.find("\"owners\":[{\"process\":\"httpd\"") != std::string::npos);
}
