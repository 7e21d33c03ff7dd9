// kernel_object and ref<T>: reference and handle counts, and destruction exactly when both
// reach zero, whichever goes last.
#include "framework/object/handle_table.hpp"
#include "framework/object/ref.hpp"
#include "tests/framework/object_probe.hpp"

#include <catch2/catch.hpp>

#include <utility>

using namespace coronet;
using coronet::test::event_probe;
using coronet::test::probe_log;

TEST_CASE("make_object returns the only reference; dropping it destroys the object") {
    lifetime_counter::reset();
    probe_log log;
    {
        auto obj = make_object<event_probe>(log);
        CHECK(obj->ref_count() == 1);
        CHECK(obj->handle_count() == 0);
        CHECK(obj->type() == object_type::event);
        CHECK(lifetime_counter::alive() == 1);
    }
    CHECK(lifetime_counter::alive() == 0);
    CHECK(log.events == std::vector<std::string>{"destroyed"});
    CHECK(log.hook_calls == 0); // no handle was ever open
}

TEST_CASE("ref: copy adds a reference, move transfers it, reset and destruction drop it") {
    lifetime_counter::reset();
    probe_log log;
    auto a = make_object<event_probe>(log);
    {
        auto b = a;
        CHECK(a->ref_count() == 2);
        auto c = std::move(b);
        CHECK(a->ref_count() == 2);
        CHECK_FALSE(b);
        ref<kernel_object> base = c; // converting copy
        CHECK(a->ref_count() == 3);
        ref<kernel_object> moved_base = std::move(c); // converting move
        CHECK(a->ref_count() == 3);
        CHECK(moved_base == base);
    }
    CHECK(a->ref_count() == 1);
    ref<event_probe> taken(a.get()); // a new reference on a live object
    CHECK(a->ref_count() == 2);
    taken.reset();
    CHECK(a->ref_count() == 1);
    a = nullptr;
    CHECK(lifetime_counter::alive() == 0);
}

TEST_CASE("a handle holds a reference and a handle count") {
    probe_log log;
    handle_table table;
    auto obj = make_object<event_probe>(log);
    auto h = table.insert(obj, access::wait);
    REQUIRE(h);
    CHECK(obj->handle_count() == 1);
    CHECK(obj->ref_count() == 2);
    REQUIRE(table.close(*h));
    CHECK(obj->handle_count() == 0);
    CHECK(obj->ref_count() == 1);
}

TEST_CASE("last reference dropped before the last handle: destroyed when the handle closes") {
    lifetime_counter::reset();
    probe_log log;
    handle_table table;
    auto obj = make_object<event_probe>(log);
    auto h = *table.insert(obj, access::wait);
    obj.reset();
    CHECK(lifetime_counter::alive() == 1); // the handle keeps it
    CHECK(log.events.empty());
    REQUIRE(table.close(h));
    CHECK(lifetime_counter::alive() == 0);
    CHECK(log.events == std::vector<std::string>{"last handle closed", "destroyed"});
    CHECK(log.handles_in_hook == 0);
    CHECK(log.refs_in_hook == 1); // the closing handle's own, held during the hook
}

TEST_CASE("last handle closed before the last reference: hook then, destruction at the drop") {
    lifetime_counter::reset();
    probe_log log;
    handle_table table;
    auto obj = make_object<event_probe>(log);
    auto h = *table.insert(obj, access::wait);
    REQUIRE(table.close(h));
    CHECK(log.events == std::vector<std::string>{"last handle closed"});
    CHECK(lifetime_counter::alive() == 1);
    CHECK(obj->ref_count() == 1);
    obj.reset();
    CHECK(lifetime_counter::alive() == 0);
    CHECK(log.events == std::vector<std::string>{"last handle closed", "destroyed"});
}

TEST_CASE("on_last_handle_closed runs once, when the last of several handles closes") {
    probe_log log;
    handle_table a, b;
    auto obj = make_object<event_probe>(log);
    auto h1 = *a.insert(obj, access::wait);
    auto h2 = *a.insert(obj, access::wait);
    auto h3 = *b.insert(obj, access::signal);
    CHECK(obj->handle_count() == 3);
    REQUIRE(a.close(h1));
    REQUIRE(b.close(h3));
    CHECK(log.hook_calls == 0);
    REQUIRE(a.close(h2));
    CHECK(log.hook_calls == 1);
    obj.reset();
    CHECK(log.hook_calls == 1); // dropping references never runs it
}

TEST_CASE("the hook may keep the object alive past its last handle (a closing socket)") {
    lifetime_counter::reset();
    probe_log log;
    ref<kernel_object> closing; // what a TCP close in progress would hold
    handle_table table;
    auto h =
        *table.insert(make_object<event_probe>(
                          log, [&](event_probe& self) { closing = ref<kernel_object>(&self); }),
                      access::wait);
    REQUIRE(table.close(h));
    CHECK(log.hook_calls == 1);
    CHECK(lifetime_counter::alive() == 1);
    closing.reset(); // the close completed
    CHECK(lifetime_counter::alive() == 0);
}

TEST_CASE("an object that gets a handle again after its hook runs the hook again") {
    probe_log log;
    handle_table table;
    auto obj = make_object<event_probe>(log);
    REQUIRE(table.close(*table.insert(obj, access::wait)));
    REQUIRE(table.close(*table.insert(obj, access::wait)));
    CHECK(log.hook_calls == 2);
}
