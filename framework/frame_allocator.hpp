#pragma once
// Coroutine frames are the one allocation a task makes. They are small and short-lived,
// so a per-thread free list per 64-byte size class makes create + destroy a few loads
// and stores instead of a trip through malloc. Frames are freed on the thread that
// allocated them (a core's coroutines never migrate), so no locks. Frames above the
// largest class, and every frame in sanitizer builds (so ASan sees each use after free),
// go to the global allocator.
#include <cstddef>
#include <new>

namespace coronet::detail {

class frame_allocator {
public:
    static constexpr std::size_t granule = 64;
    static constexpr std::size_t classes = 16; // frames up to 1 KiB are recycled
    static constexpr std::size_t max_cached_per_class = 4096;

    static void* allocate(std::size_t size) {
#ifndef CORONET_SANITIZE
        std::size_t c = (size + granule - 1) / granule;
        if (c < classes) {
            auto& fl = lists()[c];
            if (fl.head) {
                node* n = fl.head;
                fl.head = n->next;
                --fl.count;
                return n;
            }
            return ::operator new(c * granule);
        }
#endif
        return ::operator new(size);
    }

    static void deallocate(void* p, [[maybe_unused]] std::size_t size) noexcept {
#ifndef CORONET_SANITIZE
        std::size_t c = (size + granule - 1) / granule;
        if (c < classes) {
            auto& fl = lists()[c];
            if (fl.count < max_cached_per_class) {
                auto* n = static_cast<node*>(p);
                n->next = fl.head;
                fl.head = n;
                ++fl.count;
                return;
            }
            ::operator delete(p);
            return;
        }
#endif
        ::operator delete(p);
    }

private:
    struct node {
        node* next;
    };
    struct free_list {
        node* head = nullptr;
        std::size_t count = 0;
    };
    struct lists_holder {
        free_list lists[classes];
        ~lists_holder() {
            for (std::size_t c = 1; c < classes; ++c)
                while (node* n = lists[c].head) {
                    lists[c].head = n->next;
                    ::operator delete(n);
                }
        }
    };
    static free_list* lists() {
        thread_local lists_holder holder;
        return holder.lists;
    }
};

} // namespace coronet::detail
