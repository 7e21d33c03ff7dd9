#pragma once
// handle_table: a process's handles, each naming a kernel object with the rights granted on it.
//
// Shaped after NT's handle table. Slots live in 512-entry pages; the table starts with one
// page and adds a level of 512-pointer directories when it outgrows it: 512 handles on one
// level, 512^2 = 262,144 on two, 512^3 (134 million) on three. Pages are allocated as the
// slots in use reach them, so memory follows the high-water mark of open handles, and a lookup
// is a bounds check plus one to three dependent loads.
//
// A handle value encodes its slot and, in the bits above, a generation and the table's id:
//
//   63        48 47        29 28          2 1 0
//   | table id  | generation |  slot index  |0 0|
//
// A slot's entry keeps those upper bits of the handle it currently holds, so one compare
// rejects a closed handle (its generation moved on at close, even if the slot was reused), a
// handle of another table (another id) and garbage (nonzero low bits). A slot whose generation
// has run through all its values is retired instead of reused, so a stale handle can never
// name a new object, at the cost of 16 bytes per half-million closes of one slot.
//
// Each entry holds a counted reference and a handle count on its object. Objects belong to
// one core and so does a table: nothing here is atomic.
#include "framework/object/access.hpp"
#include "framework/object/handle.hpp"
#include "framework/object/object.hpp"
#include "framework/object/ref.hpp"
#include "framework/result.hpp"

#include <array>
#include <cerrno>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <utility>

namespace coronet {

// An open handle as iteration and lookup_entry show it.
struct open_handle {
    handle id;
    kernel_object* object = nullptr;
    access_mask rights;
};

// A kernel object type that a typed lookup can name: it fixes its type id (typed_object).
template <class T>
concept typed_kernel_object = std::derived_from<T, kernel_object> && requires {
    { T::type_id } -> std::convertible_to<object_type>;
};

class handle_table {
public:
    static constexpr std::uint32_t page_entries = 512;
    static constexpr std::uint32_t max_slots = page_entries * page_entries * page_entries;
    // 16 million open handles unless the process says otherwise.
    static constexpr std::uint32_t default_limit = 1u << 24;

    // Takes a table id unique among the live tables of the program; throws std::system_error
    // (ENFILE) when all 65,535 are taken.
    explicit handle_table(std::uint32_t limit = default_limit);
    ~handle_table(); // closes every handle
    handle_table(const handle_table&) = delete;
    handle_table& operator=(const handle_table&) = delete;

    // Opens a handle on `object` granting `rights`: EINVAL for a null object or for a right
    // the object's type does not define (access::all asks for every right it defines),
    // EMFILE when limit() handles are open.
    result<handle> insert(ref<kernel_object> object, access_mask rights);

    // The object behind `h` when `h` grants every right in `required`: EBADF for a handle that
    // is closed, of another table or no handle at all; EACCES for a missing right.
    result<kernel_object*> lookup(handle h, access_mask required) const noexcept {
        const entry* e = find(h);
        if (e == nullptr) [[unlikely]]
            return error{EBADF};
        if (!e->grants(required)) [[unlikely]]
            return error{EACCES};
        return e->object;
    }

    // lookup() that also checks the object's type: EINVAL when `h` is a valid handle to an
    // object of another type (Linux's answer to a valid descriptor of the wrong kind; the
    // socket calls turn it into ENOTSOCK). The type is checked before the rights.
    template <typed_kernel_object T>
    result<T*> lookup_as(handle h, access_mask required) const noexcept {
        const entry* e = find(h);
        if (e == nullptr) [[unlikely]]
            return error{EBADF};
        if (e->object->type() != T::type_id) [[unlikely]]
            return error{EINVAL};
        if (!e->grants(required)) [[unlikely]]
            return error{EACCES};
        return static_cast<T*>(e->object);
    }

    // The object and the granted rights of `h`, with no right required: EBADF as lookup().
    result<open_handle> lookup_entry(handle h) const noexcept;

    // Closes `h` (EBADF as lookup()); the slot is reused with a new generation. The object's
    // on_last_handle_closed() may run, and the object may be destroyed, before this returns.
    result<void> close(handle h) noexcept;
    // Closes every open handle, including any opened by on_last_handle_closed() meanwhile.
    void close_all() noexcept;

    std::uint32_t count() const noexcept { return count_; }
    std::uint32_t limit() const noexcept { return limit_; }
    // Lowering the limit below count() closes nothing; it only refuses new handles.
    void set_limit(std::uint32_t limit) noexcept { limit_ = limit; }
    // 0 before the first insert, then 1, 2 or 3; the table never shrinks.
    unsigned levels() const noexcept { return levels_; }
    // Bytes of pages and directories allocated.
    std::size_t memory_bytes() const noexcept { return memory_bytes_; }
    std::uint16_t id() const noexcept { return id_; }

    // Iteration over the open handles, in slot order. Closing handles while iterating is
    // safe; a handle opened meanwhile may or may not be visited.
    class iterator;
    iterator begin() const noexcept;
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    static constexpr unsigned index_shift = 2;
    static constexpr unsigned index_bits = 27; // 3 levels of 512
    static constexpr unsigned generation_shift = index_shift + index_bits;
    static constexpr unsigned generation_bits = 19;
    static constexpr unsigned table_shift = generation_shift + generation_bits;
    static constexpr std::uint64_t index_mask = (std::uint64_t{1} << index_bits) - 1;
    static constexpr std::uint64_t generation_mask = (std::uint64_t{1} << generation_bits) - 1;
    // The bits of a handle an entry must match: all but the slot index.
    static constexpr std::uint64_t tag_mask = ~(index_mask << index_shift);
    // Where the handle has its slot index, an entry keeps the granted rights and, above them,
    // a flag for a free slot.
    static constexpr unsigned rights_bits = index_bits - 1;
    static constexpr std::uint64_t rights_mask = (std::uint64_t{1} << rights_bits) - 1;
    static constexpr std::uint64_t free_flag = std::uint64_t{1} << (index_shift + rights_bits);
    static constexpr std::uint32_t no_slot = ~std::uint32_t{0};
    static_assert(table_shift + 16 == 64, "the table id takes the top 16 bits");
    static_assert(access::all.bits() <= rights_mask, "every right fits an entry");

    struct entry {
        union {
            kernel_object* object;   // in use
            std::uint32_t next_free; // free: the next slot of the free list
        };
        std::uint64_t meta; // the handle's tag bits | rights << index_shift, or | free_flag

        // True when `value` is the handle this slot holds now: same tag, slot in use.
        bool holds(std::uint64_t value) const noexcept {
            return (meta & (tag_mask | free_flag)) == (value & tag_mask);
        }
        bool in_use() const noexcept { return (meta & free_flag) == 0; }
        access_mask rights() const noexcept {
            return access_mask{
                static_cast<access_mask::bits_type>((meta >> index_shift) & rights_mask)};
        }
        bool grants(access_mask required) const noexcept { return rights().contains(required); }
    };
    static_assert(sizeof(entry) == 16);

    struct leaf_page {
        std::array<entry, page_entries> entries;
    };
    struct middle_page {
        std::array<std::unique_ptr<leaf_page>, page_entries> leaves;
    };
    struct top_page {
        std::array<std::unique_ptr<middle_page>, page_entries> middles;
    };

    static std::uint32_t index_of(std::uint64_t value) noexcept {
        return static_cast<std::uint32_t>((value >> index_shift) & index_mask);
    }

    // The slot at `index`, below used_slots_: every page up to there exists.
    const entry& at(std::uint32_t index) const noexcept {
        const std::uint32_t low = index % page_entries;
        if (levels_ == 1) [[likely]]
            return leaf_root_->entries[low];
        if (levels_ == 2) return middle_root_->leaves[index / page_entries]->entries[low];
        return top_root_->middles[index / (page_entries * page_entries)]
            ->leaves[(index / page_entries) % page_entries]
            ->entries[low];
    }
    entry& at(std::uint32_t index) noexcept {
        return const_cast<entry&>(std::as_const(*this).at(index));
    }
    // The entry `h` names, if `h` is open in this table.
    const entry* find(handle h) const noexcept {
        const std::uint32_t index = index_of(h.value());
        if (index >= used_slots_) [[unlikely]]
            return nullptr;
        const entry& e = at(index);
        return e.holds(h.value()) ? &e : nullptr;
    }

    std::uint64_t tag(std::uint64_t generation) const noexcept {
        return std::uint64_t{id_} << table_shift | generation << generation_shift;
    }
    void make_room(std::uint32_t index);
    template <class Page>
    std::unique_ptr<Page> allocate();
    void free_slot(std::uint32_t index, entry& e) noexcept;
    void close_slot(std::uint32_t index, entry& e) noexcept;
    // The first slot in use at or after `index`, or used_slots_.
    std::uint32_t next_in_use(std::uint32_t index) const noexcept;

    unsigned levels_ = 0;
    std::uint32_t used_slots_ = 0; // slots ever handed out: the high-water mark
    std::uint32_t free_head_ = no_slot;
    std::uint32_t count_ = 0;
    std::uint32_t limit_;
    std::uint16_t id_;
    std::size_t memory_bytes_ = 0;
    // Exactly one root is set, the one levels_ says.
    std::unique_ptr<leaf_page> leaf_root_;
    std::unique_ptr<middle_page> middle_root_;
    std::unique_ptr<top_page> top_root_;
};

class handle_table::iterator {
public:
    using value_type = open_handle;
    using difference_type = std::ptrdiff_t;
    using iterator_concept = std::forward_iterator_tag;

    iterator() = default;
    open_handle operator*() const noexcept;
    iterator& operator++() noexcept {
        index_ = table_->next_in_use(index_ + 1);
        return *this;
    }
    iterator operator++(int) noexcept {
        iterator before = *this;
        ++*this;
        return before;
    }
    friend bool operator==(const iterator&, const iterator&) = default;
    friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept {
        return it.at_end();
    }

private:
    friend class handle_table;
    iterator(const handle_table* table, std::uint32_t index) noexcept
        : table_(table), index_(index) {}
    bool at_end() const noexcept { return index_ >= table_->used_slots_; }

    const handle_table* table_ = nullptr;
    std::uint32_t index_ = 0;
};

} // namespace coronet
