#pragma once
// lifetime_counter: counts constructions and destructions (copies and moves included), so
// a test can assert that a leaked or doubly destroyed object (a coroutine frame's
// arguments, a kernel object, a packet) fails the test instead of a production run.
// Each instance gets a fresh id; counts are per thread (tests run on one).
#include <cstddef>

class lifetime_counter {
public:
    lifetime_counter() noexcept : id(next_id()++) { ++counts().constructed; }
    lifetime_counter(const lifetime_counter&) noexcept : id(next_id()++) { ++counts().constructed; }
    lifetime_counter(lifetime_counter&&) noexcept : id(next_id()++) { ++counts().constructed; }
    lifetime_counter& operator=(const lifetime_counter&) noexcept = default;
    lifetime_counter& operator=(lifetime_counter&&) noexcept = default;
    ~lifetime_counter() { ++counts().destroyed; }

    int id;

    static void reset() noexcept { counts() = {}; }
    static std::size_t constructed() noexcept { return counts().constructed; }
    static std::size_t destroyed() noexcept { return counts().destroyed; }
    static std::size_t alive() noexcept { return counts().constructed - counts().destroyed; }

private:
    struct tally {
        std::size_t constructed = 0;
        std::size_t destroyed = 0;
    };
    static tally& counts() noexcept {
        thread_local tally t;
        return t;
    }
    static int& next_id() noexcept {
        thread_local int n = 1;
        return n;
    }
};
