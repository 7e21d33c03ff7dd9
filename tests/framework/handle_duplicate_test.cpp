// duplicate_handle: weaker or equal rights only, the duplicate right required, across tables,
// and the duplicate keeping the object alive on its own.
#include "framework/object/duplicate.hpp"
#include "tests/framework/object_probe.hpp"

#include <catch2/catch.hpp>

using namespace coronet;
using coronet::test::probe_log;
using coronet::test::socket_probe;

namespace {
constexpr access_mask rw_dup = access::read | access::write | access::duplicate;
}

TEST_CASE("a duplicate with fewer rights works and lacks the rights it dropped") {
    handle_table table;
    auto sock = make_object<socket_probe>();
    handle h = *table.insert(sock, rw_dup);
    auto dup = duplicate_handle(table, h, table, access::read);
    REQUIRE(dup);
    CHECK(*dup != h);
    CHECK(*table.lookup(*dup, access::read) == sock.get());
    CHECK(table.lookup(*dup, access::write).error() == EACCES);
    CHECK(table.lookup(*dup, access::duplicate).error() == EACCES);
    CHECK(duplicate_handle(table, *dup, table, access::read).error() ==
          EACCES); // no duplicate right
    CHECK(sock->handle_count() == 2);
}

TEST_CASE("a duplicate asking for more rights than the source fails with EACCES") {
    handle_table table;
    auto sock = make_object<socket_probe>();
    handle h = *table.insert(sock, access::read | access::duplicate);
    CHECK(duplicate_handle(table, h, table, access::read | access::write).error() == EACCES);
    CHECK(duplicate_handle(table, h, table, access::control).error() == EACCES);
    CHECK(sock->handle_count() == 1);
}

TEST_CASE("duplicating a handle without the duplicate right fails with EACCES") {
    handle_table table;
    auto sock = make_object<socket_probe>();
    handle h = *table.insert(sock, access::read | access::write);
    CHECK(duplicate_handle(table, h, table, access::read).error() == EACCES);
    CHECK(duplicate_handle(table, h, table, access::none).error() == EACCES);
}

TEST_CASE("access::all duplicates with the same rights as the source") {
    handle_table table;
    auto sock = make_object<socket_probe>();
    handle h = *table.insert(sock, rw_dup);
    handle dup = *duplicate_handle(table, h, table, access::all);
    CHECK(table.lookup_entry(dup)->rights == rw_dup);
}

TEST_CASE("a duplicate into another table names the same object there only") {
    handle_table parent, child;
    auto sock = make_object<socket_probe>();
    handle h = *parent.insert(sock, rw_dup);
    handle dup = *duplicate_handle(parent, h, child, access::read);
    CHECK(*child.lookup(dup, access::read) == sock.get());
    CHECK(parent.lookup(dup, access::none).error() == EBADF);
    CHECK(child.lookup(h, access::none).error() == EBADF);
    CHECK(child.lookup(dup, access::write).error() == EACCES);
    CHECK(duplicate_handle(child, h, parent, access::read).error() == EBADF); // h is not child's
}

TEST_CASE("closing the original keeps the object alive through the duplicate") {
    lifetime_counter::reset();
    probe_log log;
    handle_table parent, child;
    handle h = *parent.insert(make_object<socket_probe>(log), rw_dup);
    handle dup = *duplicate_handle(parent, h, child, access::read);
    REQUIRE(parent.close(h));
    CHECK(lifetime_counter::alive() == 1);
    CHECK(log.hook_calls == 0);
    CHECK(child.lookup(dup, access::read));
    REQUIRE(child.close(dup));
    CHECK(log.hook_calls == 1);
    CHECK(lifetime_counter::alive() == 0);
}

TEST_CASE("duplicate_handle fails with EBADF for a closed source, EMFILE for a full target") {
    handle_table from, to(1);
    auto sock = make_object<socket_probe>();
    handle h = *from.insert(sock, rw_dup);
    REQUIRE(duplicate_handle(from, h, to, access::read));
    CHECK(duplicate_handle(from, h, to, access::read).error() == EMFILE);
    CHECK(sock->handle_count() == 2);
    REQUIRE(from.close(h));
    CHECK(duplicate_handle(from, h, from, access::read).error() == EBADF);
}
