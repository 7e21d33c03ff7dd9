// handle_table: handle values, growth from one to three levels with memory that follows the
// handles in use, and every way a handle can be wrong.
#include "framework/object/handle_table.hpp"
#include "tests/framework/object_probe.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <vector>

using namespace coronet;
using coronet::test::event_probe;
using coronet::test::probe_log;

namespace {

constexpr std::size_t leaf_bytes = 512 * 16;     // 512 entries of 16 bytes
constexpr std::size_t directory_bytes = 512 * 8; // 512 pointers
constexpr std::uint64_t slot_bits = 0x1fff'fffc; // bits 2..28 of a handle: its slot index

std::vector<handle> insert_many(handle_table& table, const ref<kernel_object>& obj, std::size_t n) {
    std::vector<handle> handles;
    handles.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        handles.push_back(table.insert(obj, access::wait).value());
    return handles;
}

bool all_found(const handle_table& table, const std::vector<handle>& handles,
               const kernel_object* obj) {
    for (handle h : handles) {
        auto found = table.lookup(h, access::wait);
        if (!found || *found != obj) return false;
    }
    return true;
}

} // namespace

TEST_CASE("handles are nonzero multiples of 4, distinct while open") {
    handle_table table;
    auto obj = make_object<event_probe>();
    std::set<handle> seen;
    for (handle h : insert_many(table, obj, 1000)) {
        CHECK(h);
        CHECK(h.value() % 4 == 0);
        CHECK(seen.insert(h).second);
    }
}

TEST_CASE("an empty table allocates nothing; the first handle allocates one page") {
    handle_table table;
    CHECK(table.levels() == 0);
    CHECK(table.memory_bytes() == 0);
    CHECK(table.lookup(handle{4}, access::none).error() == EBADF);
    auto obj = make_object<event_probe>();
    insert_many(table, obj, 512);
    CHECK(table.levels() == 1);
    CHECK(table.memory_bytes() == leaf_bytes);
}

TEST_CASE("past 512 handles the table grows to two levels and finds every handle") {
    handle_table table;
    auto obj = make_object<event_probe>();
    auto handles = insert_many(table, obj, 513);
    CHECK(table.levels() == 2);
    CHECK(table.memory_bytes() == directory_bytes + 2 * leaf_bytes);
    CHECK(all_found(table, handles, obj.get()));
    CHECK(table.count() == 513);
}

TEST_CASE("past 512*512 handles the table grows to three levels, memory proportional") {
    handle_table table;
    auto obj = make_object<event_probe>();
    auto handles = insert_many(table, obj, 262'144);
    CHECK(table.levels() == 2);
    handles.push_back(table.insert(obj, access::wait).value());
    CHECK(table.levels() == 3);
    auto more = insert_many(table, obj, 300'000 - handles.size());
    handles.insert(handles.end(), more.begin(), more.end());
    CHECK(table.count() == 300'000);
    CHECK(obj->handle_count() == 300'000);
    CHECK(all_found(table, handles, obj.get()));

    // 586 leaf pages for 300,000 slots, 2 middle directories and the top one: about 16 bytes
    // a handle, nowhere near the 2 GiB of a full three-level table.
    const std::size_t leaves = (300'000 + 511) / 512;
    CHECK(table.memory_bytes() == leaves * leaf_bytes + 3 * directory_bytes);
    CHECK(table.memory_bytes() < 300'000 * 17);
}

TEST_CASE("closed slots are reused: churn does not grow the table") {
    handle_table table;
    auto obj = make_object<event_probe>();
    auto handles = insert_many(table, obj, 100);
    for (int round = 0; round < 100; ++round) {
        for (handle& h : handles) {
            REQUIRE(table.close(h));
            h = table.insert(obj, access::wait).value();
        }
    }
    CHECK(table.memory_bytes() == leaf_bytes);
    CHECK(table.count() == 100);
}

TEST_CASE("a closed handle fails with EBADF, also after its slot holds a new object") {
    handle_table table;
    auto first = make_object<event_probe>();
    auto second = make_object<event_probe>();
    handle stale = *table.insert(first, access::wait);
    REQUIRE(table.close(stale));
    CHECK(table.lookup(stale, access::none).error() == EBADF);
    CHECK(table.close(stale).error() == EBADF);

    handle reused = *table.insert(second, access::wait);
    CHECK((reused.value() & slot_bits) == (stale.value() & slot_bits)); // same slot
    CHECK(reused != stale);
    CHECK(table.lookup(stale, access::none).error() == EBADF);
    CHECK(table.close(stale).error() == EBADF);
    CHECK(*table.lookup(reused, access::wait) == second.get());
    CHECK(second->handle_count() == 1); // the stale close did not touch it
}

TEST_CASE("a slot whose generations are used up is retired, never reused") {
    handle_table table;
    auto obj = make_object<event_probe>();
    const handle first = *table.insert(obj, access::wait);
    handle h = first;
    std::uint32_t moved = 0;                             // reuses that landed in another slot
    for (std::uint32_t i = 1; i < (1u << 19) - 1; ++i) { // through every generation of slot 0
        (void)table.close(h);
        h = *table.insert(obj, access::wait);
        if ((h.value() & slot_bits) != (first.value() & slot_bits)) ++moved;
    }
    CHECK(moved == 0);
    REQUIRE(table.close(h));
    handle next = *table.insert(obj, access::wait);
    CHECK((next.value() & slot_bits) != (first.value() & slot_bits)); // a new slot
    CHECK(table.lookup(first, access::none).error() == EBADF);
    CHECK(table.lookup(h, access::none).error() == EBADF);
}

TEST_CASE("a handle of another table fails with EBADF, even naming a slot in use there") {
    handle_table a, b;
    CHECK(a.id() != b.id());
    auto in_a = make_object<event_probe>();
    auto in_b = make_object<event_probe>();
    handle ha = *a.insert(in_a, access::wait);
    handle hb = *b.insert(in_b, access::wait); // same slot, same generation
    CHECK(b.lookup(ha, access::none).error() == EBADF);
    CHECK(a.lookup(hb, access::none).error() == EBADF);
    CHECK(b.close(ha).error() == EBADF);
    CHECK(in_a->handle_count() == 1);
    CHECK(in_b->handle_count() == 1);
}

TEST_CASE("garbage handle values fail with EBADF") {
    handle_table table;
    auto obj = make_object<event_probe>();
    handle h = *table.insert(obj, access::wait);
    for (std::uint64_t bad : {std::uint64_t{0}, h.value() + 1, h.value() + 2, h.value() + 3,
                              h.value() + 4,                                // the next, unused slot
                              h.value() | (std::uint64_t{100'000} << 2),    // beyond the table
                              h.value() | (std::uint64_t{0x7ff'ffff} << 2), // the largest index
                              h.value() ^ (std::uint64_t{1} << 29),         // another generation
                              ~std::uint64_t{0}, ~std::uint64_t{0} << 2}) {
        INFO("handle value " << bad);
        CHECK(table.lookup(handle{bad}, access::none).error() == EBADF);
        CHECK(table.close(handle{bad}).error() == EBADF);
    }
    CHECK(*table.lookup(h, access::wait) == obj.get());
}

TEST_CASE("insert fails with EMFILE at the limit and works again after a close") {
    handle_table table(10);
    auto obj = make_object<event_probe>();
    auto handles = insert_many(table, obj, 10);
    CHECK(table.insert(obj, access::wait).error() == EMFILE);
    CHECK(obj->handle_count() == 10);
    REQUIRE(table.close(handles[3]));
    CHECK(table.insert(obj, access::wait));
    table.set_limit(20);
    CHECK(table.insert(obj, access::wait));
    CHECK(table.count() == 11);
}

TEST_CASE("insert of a null object fails with EINVAL") {
    handle_table table;
    CHECK(table.insert(nullptr, access::none).error() == EINVAL);
    CHECK(table.count() == 0);
}

TEST_CASE("close_all closes every handle and releases every object") {
    lifetime_counter::reset();
    probe_log log;
    handle_table table;
    std::vector<handle> handles;
    for (int i = 0; i < 1000; ++i)
        handles.push_back(*table.insert(make_object<event_probe>(log), access::wait));
    CHECK(lifetime_counter::alive() == 1000);
    table.close_all();
    CHECK(lifetime_counter::alive() == 0);
    CHECK(log.hook_calls == 1000);
    CHECK(table.count() == 0);
    for (handle h : handles)
        CHECK(table.lookup(h, access::none).error() == EBADF);
    CHECK(table.insert(make_object<event_probe>(), access::wait)); // still usable
}

TEST_CASE("close_all also closes handles that a closing object's hook opens") {
    lifetime_counter::reset();
    handle_table table;
    probe_log log;
    bool opened = false;
    auto reopen = [&](event_probe&) {
        if (!opened) opened = table.insert(make_object<event_probe>(), access::wait).has_value();
    };
    REQUIRE(table.insert(make_object<event_probe>(log, reopen), access::wait));
    table.close_all();
    CHECK(opened);
    CHECK(table.count() == 0);
    CHECK(lifetime_counter::alive() == 0);
}

TEST_CASE("destroying a table closes its handles") {
    lifetime_counter::reset();
    probe_log log;
    {
        handle_table table;
        for (int i = 0; i < 600; ++i)
            REQUIRE(table.insert(make_object<event_probe>(log), access::wait));
    }
    CHECK(log.hook_calls == 600);
    CHECK(lifetime_counter::alive() == 0);
}

TEST_CASE("iteration visits each open handle once, with its object and rights") {
    handle_table table;
    auto obj = make_object<event_probe>();
    auto handles = insert_many(table, obj, 700); // two levels
    for (std::size_t i = 0; i < handles.size(); i += 3)
        REQUIRE(table.close(handles[i]));
    std::set<handle> expected;
    for (std::size_t i = 0; i < handles.size(); ++i)
        if (i % 3 != 0) expected.insert(handles[i]);

    std::set<handle> seen;
    for (open_handle open : table) {
        CHECK(open.object == obj.get());
        CHECK(open.rights == access::wait);
        CHECK(seen.insert(open.id).second);
    }
    CHECK(seen == expected);
}

TEST_CASE("closing handles while iterating is safe") {
    handle_table table;
    auto obj = make_object<event_probe>();
    insert_many(table, obj, 50);
    for (open_handle open : table)
        REQUIRE(table.close(open.id));
    CHECK(table.count() == 0);
    CHECK(table.begin() == table.end());
}
