#include "framework/object/handle_table.hpp"

#include <bitset>
#include <mutex>
#include <system_error>

namespace coronet {

namespace {

// Ids of the live tables. A handle carries its table's id, so using it in another table fails
// deterministically as long as no two live tables share an id, across cores too: hence one
// allocator for the program, behind a lock taken only when a table is created or destroyed.
// Next-fit, so that the id of a destroyed table comes back as late as possible. Id 0 is never
// given, which keeps every handle nonzero.
class table_ids {
public:
    std::uint16_t acquire() {
        std::lock_guard lock(mutex_);
        for (std::size_t tries = 0; tries < capacity; ++tries) {
            const std::size_t id = next_;
            next_ = next_ + 1 == capacity ? 1 : next_ + 1;
            if (!used_[id]) {
                used_.set(id);
                return static_cast<std::uint16_t>(id);
            }
        }
        throw std::system_error(ENFILE, std::generic_category(),
                                "coronet::handle_table: no table id left");
    }
    void release(std::uint16_t id) {
        std::lock_guard lock(mutex_);
        used_.reset(id);
    }

private:
    static constexpr std::size_t capacity = std::size_t{1} << 16;
    std::mutex mutex_;
    std::bitset<capacity> used_;
    std::size_t next_ = 1;
};

// Never destroyed: a table with static storage may outlive any other static.
table_ids& ids() {
    static table_ids* const instance = new table_ids;
    return *instance;
}

} // namespace

handle_table::handle_table(std::uint32_t limit) : limit_(limit), id_(ids().acquire()) {}

handle_table::~handle_table() {
    close_all();
    ids().release(id_);
}

result<handle> handle_table::insert(ref<kernel_object> object, access_mask rights) {
    if (!object) return error{EINVAL};
    const access_mask valid = object->valid_access();
    if (rights == access::all) rights = valid;
    if (!valid.contains(rights)) return error{EINVAL};
    if (count_ >= limit_) return error{EMFILE};

    std::uint32_t index = free_head_;
    if (index != no_slot) {
        free_head_ = at(index).next_free;
    } else {
        if (used_slots_ == max_slots) return error{EMFILE};
        index = used_slots_;
        // Levels and pages are added exactly when the slots in use cross a page boundary.
        if (index % page_entries == 0) make_room(index);
        ++used_slots_;
        at(index).meta = tag(1) | free_flag;
    }
    entry& e = at(index);
    const std::uint64_t handle_tag = e.meta & tag_mask; // the generation set at close
    e.object = object.get();
    e.meta = handle_tag | std::uint64_t{rights.bits()} << index_shift;
    ++count_;
    object->add_ref();
    object->add_handle();
    return handle{handle_tag | std::uint64_t{index} << index_shift};
}

result<open_handle> handle_table::lookup_entry(handle h) const noexcept {
    const entry* e = find(h);
    if (e == nullptr) return error{EBADF};
    return open_handle{h, e->object, e->rights()};
}

result<void> handle_table::close(handle h) noexcept {
    if (find(h) == nullptr) return error{EBADF};
    const std::uint32_t index = index_of(h.value());
    close_slot(index, at(index));
    return {};
}

void handle_table::close_all() noexcept {
    // The objects' hooks may close or open handles meanwhile: sweep until none is open.
    while (count_ != 0) {
        for (std::uint32_t index = 0; index < used_slots_ && count_ != 0; ++index) {
            entry& e = at(index);
            if (e.in_use()) close_slot(index, e);
        }
    }
}

void handle_table::close_slot(std::uint32_t index, entry& e) noexcept {
    kernel_object* object = e.object;
    free_slot(index, e);
    --count_;
    // The table is consistent before any object code runs: the hook may reenter it.
    object->release_handle();
    object->release();
}

void handle_table::free_slot(std::uint32_t index, entry& e) noexcept {
    const std::uint64_t generation = (e.meta >> generation_shift) & generation_mask;
    if (generation == generation_mask) {
        // Every generation was used: retire the slot rather than let a stale handle match.
        e.meta = (e.meta & tag_mask) | free_flag;
        return;
    }
    e.meta = tag(generation + 1) | free_flag;
    e.next_free = free_head_;
    free_head_ = index;
}

template <class Page>
std::unique_ptr<Page> handle_table::allocate() {
    auto page = std::make_unique<Page>(); // zeroed: null children, free entries
    memory_bytes_ += sizeof(Page);
    return page;
}

void handle_table::make_room(std::uint32_t index) {
    // Each step checks the state, not the index, so that after a failed allocation the
    // next insert redoes only what is missing.
    const unsigned needed = index < page_entries ? 1 : index < page_entries * page_entries ? 2 : 3;
    if (levels_ == 0) {
        leaf_root_ = allocate<leaf_page>();
        levels_ = 1;
    }
    if (levels_ == 1 && needed >= 2) {
        auto middle = allocate<middle_page>();
        middle->leaves[0] = std::move(leaf_root_); // slots keep their index
        middle_root_ = std::move(middle);
        levels_ = 2;
    }
    if (levels_ == 2 && needed == 3) {
        auto top = allocate<top_page>();
        top->middles[0] = std::move(middle_root_);
        top_root_ = std::move(top);
        levels_ = 3;
    }
    middle_page* middle = middle_root_.get();
    if (levels_ == 3) {
        auto& slot_middle = top_root_->middles[index / (page_entries * page_entries)];
        if (!slot_middle) slot_middle = allocate<middle_page>();
        middle = slot_middle.get();
    }
    if (middle != nullptr) {
        auto& leaf = middle->leaves[(index / page_entries) % page_entries];
        if (!leaf) leaf = allocate<leaf_page>();
    }
}

std::uint32_t handle_table::next_in_use(std::uint32_t index) const noexcept {
    while (index < used_slots_ && !at(index).in_use())
        ++index;
    return index;
}

handle_table::iterator handle_table::begin() const noexcept { return {this, next_in_use(0)}; }

open_handle handle_table::iterator::operator*() const noexcept {
    const entry& e = table_->at(index_);
    return {handle{(e.meta & tag_mask) | std::uint64_t{index_} << index_shift}, e.object,
            e.rights()};
}

static_assert(std::forward_iterator<handle_table::iterator>);
static_assert(std::sentinel_for<std::default_sentinel_t, handle_table::iterator>);

} // namespace coronet
