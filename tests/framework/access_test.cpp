// Access rights: the mask itself, the rights each object type defines, the check when a
// handle is created (EINVAL) and the test on each lookup (EACCES).
#include "framework/object/access.hpp"
#include "framework/object/handle_table.hpp"
#include "tests/framework/object_probe.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using coronet::test::event_probe;
using coronet::test::socket_probe;

namespace {

// A type defined outside the framework, with rights of its own choosing.
class mailbox : public kernel_object {
public:
    static constexpr object_type type_id =
        object_type{static_cast<std::uint16_t>(object_type::first_user) + 1};
    mailbox() : kernel_object(type_id, access::read | access::write | access::duplicate) {}
};

} // namespace

TEST_CASE("access_mask: contains, union, intersection, difference") {
    constexpr access_mask rw = access::read | access::write;
    STATIC_REQUIRE(rw.contains(access::read));
    STATIC_REQUIRE(rw.contains(access::none));
    STATIC_REQUIRE_FALSE(rw.contains(access::read | access::control));
    STATIC_REQUIRE((rw & access::write) == access::write);
    STATIC_REQUIRE((rw - access::read) == access::write);
    STATIC_REQUIRE(access::none.empty());
    for (access_mask right : {access::read, access::write, access::control, access::wait,
                              access::signal, access::duplicate, access::query}) {
        CHECK(access::all.contains(right));
        CHECK((access::all - right) != access::all);
    }
}

TEST_CASE("each built-in type defines its rights") {
    CHECK(default_valid_access(object_type::socket)
              .contains(access::read | access::write | access::control));
    CHECK_FALSE(default_valid_access(object_type::event).contains(access::read));
    CHECK(default_valid_access(object_type::event).contains(access::wait | access::signal));
    CHECK_FALSE(default_valid_access(object_type::listener).contains(access::write));
    for (auto type :
         {object_type::event, object_type::semaphore, object_type::timer, object_type::socket,
          object_type::listener, object_type::nic, object_type::process}) {
        CHECK(default_valid_access(type).contains(access::duplicate | access::query));
    }
}

TEST_CASE("creating a handle with a right its type does not define fails with EINVAL") {
    handle_table table;
    auto event = make_object<event_probe>();
    CHECK(table.insert(event, access::read).error() == EINVAL);
    CHECK(table.insert(event, access::wait | access::write).error() == EINVAL);
    CHECK(event->handle_count() == 0);
    auto box = make_object<mailbox>();
    CHECK(table.insert(box, access::wait).error() == EINVAL);
    CHECK(table.insert(box, access::read | access::write));
}

TEST_CASE("access::all on creation grants exactly the rights the type defines") {
    handle_table table;
    auto event = make_object<event_probe>();
    handle h = *table.insert(event, access::all);
    CHECK(table.lookup_entry(h)->rights == default_valid_access(object_type::event));
    CHECK(table.lookup(h, access::wait | access::signal | access::query | access::duplicate));
    CHECK(table.lookup(h, access::read).error() == EACCES);
}

TEST_CASE("lookup without a required right fails with EACCES; with a subset it works") {
    handle_table table;
    auto sock = make_object<socket_probe>();
    handle h = *table.insert(sock, access::read | access::query);
    CHECK(*table.lookup(h, access::read) == sock.get());
    CHECK(*table.lookup(h, access::read | access::query) == sock.get());
    CHECK(*table.lookup(h, access::none) == sock.get());
    CHECK(table.lookup(h, access::write).error() == EACCES);
    CHECK(table.lookup(h, access::read | access::write).error() == EACCES);
    CHECK(table.lookup(h, access_mask{1u << 20}).error() == EACCES); // a right no one has
}

TEST_CASE("a bad handle is EBADF before any rights check") {
    handle_table table;
    auto sock = make_object<socket_probe>();
    handle h = *table.insert(sock, access::read);
    REQUIRE(table.close(h));
    CHECK(table.lookup(h, access::write).error() == EBADF);
}

TEST_CASE("lookup_as checks the type (EINVAL), then the rights (EACCES)") {
    handle_table table;
    auto sock = make_object<socket_probe>();
    auto event = make_object<event_probe>();
    handle hs = *table.insert(sock, access::read);
    handle he = *table.insert(event, access::wait);

    auto as_socket = table.lookup_as<socket_probe>(hs, access::read);
    REQUIRE(as_socket);
    CHECK(*as_socket == sock.get());
    CHECK(table.lookup_as<socket_probe>(hs, access::write).error() == EACCES);
    CHECK(table.lookup_as<socket_probe>(he, access::none).error() == EINVAL);
    CHECK(table.lookup_as<socket_probe>(he, access::write).error() == EINVAL);
    CHECK(table.lookup_as<event_probe>(he, access::wait));
    CHECK(table.lookup_as<socket_probe>(handle{4000}, access::none).error() == EBADF);
    auto box = make_object<mailbox>();
    handle hb = *table.insert(box, access::read);
    CHECK(*table.lookup_as<mailbox>(hb, access::read) == box.get());
    CHECK(table.lookup_as<mailbox>(hs, access::read).error() == EINVAL);
}
