#include "framework/file/file_cache.hpp"

#include "framework/scheduler.hpp"

#include <algorithm>

namespace coronet::fs {

namespace {

// Whether two stats describe the same bytes on disk.
bool same_file(const file_status& a, const file_status& b) noexcept {
    return a.size == b.size && a.mtime_ns == b.mtime_ns && a.inode == b.inode &&
           a.device == b.device && a.mode == b.mode;
}

result<> check_regular(const file_status& st) {
    if (st.directory()) return error{EISDIR};
    if (!st.regular()) return error{EINVAL};
    return {};
}

} // namespace

// (Tasks chosen before the co_await: g++ 12 mishandles co_await inside ?:.)
task<result<file_status>> file_cache::stat_path(const std::string& path) const {
    return opts_.root != nullptr ? stat_at(*opts_.root, path) : stat(path);
}

task<result<file>> file_cache::open_path(const std::string& path) const {
    return opts_.root != nullptr ? open_beneath(*opts_.root, path) : open(path);
}

task<result<file_cache::contents>> file_cache::get(std::string path) {
    if (auto it = entries_.find(path); it != entries_.end()) {
        const time_point now = scheduler::current().now();
        if (now - it->second.checked < opts_.revalidate_after) co_return hand_out(it->second);
        auto st = co_await stat_path(path);
        // The stat suspended: look the entry up again, another get() may have replaced it.
        it = entries_.find(path);
        if (st && it != entries_.end() && same_file(*st, it->second.status)) {
            it->second.checked = scheduler::current().now();
            co_return hand_out(it->second);
        }
        if (it != entries_.end()) {
            ++stats_.invalidations;
            erase(it);
        }
        if (!st) co_return error{st.error()};
    }
    co_return co_await load(std::move(path));
}

task<result<file_cache::contents>> file_cache::load(std::string path) {
    ++stats_.misses;
    auto f = co_await open_path(path);
    if (!f) co_return error{f.error()};
    auto st = co_await stat(*f);
    if (!st) co_return error{st.error()};
    if (auto ok = check_regular(*st); !ok) co_return error{ok.error()};
    if (st->size > opts_.max_entry_bytes) {
        ++stats_.too_large;
        co_return error{EFBIG};
    }
    contents out{*st, packet{}};
    while (out.data.length() < st->size) {
        auto part = co_await read(*f, pool_, out.data.length(), st->size - out.data.length());
        if (!part) co_return error{part.error()};
        if (part->empty()) co_return error{EAGAIN}; // shrank while we read it
        out.data.append(std::move(*part));
    }
    stats_.bytes_read += out.data.length();
    insert(path, *st, out.data);
    co_return out;
}

result<file_cache::contents> file_cache::hand_out(entry& e) {
    auto shared = e.data.share();
    if (!shared) return error{shared.error()};
    ++stats_.hits;
    stats_.bytes_hit += e.data.length();
    lru_.splice(lru_.begin(), lru_, e.lru);
    return contents{e.status, std::move(*shared)};
}

void file_cache::insert(const std::string& path, const file_status& st, const packet& data) {
    // Charged in whole buffers, and at least one: an empty file's entry still costs memory.
    const std::size_t pinned = std::max<std::size_t>(data.slice_count(), 1) * pool_.buffer_size();
    if (pinned > opts_.max_bytes) return;
    auto shared = data.share();
    if (!shared) return; // no descriptors to spare: served, not kept
    if (auto it = entries_.find(path); it != entries_.end())
        erase(it); // a concurrent load won first
    while (stats_.bytes + pinned > opts_.max_bytes && !lru_.empty()) {
        ++stats_.evictions;
        erase(entries_.find(lru_.back()));
    }
    lru_.push_front(path);
    entries_.emplace(
        path, entry{st, std::move(*shared), pinned, scheduler::current().now(), lru_.begin()});
    stats_.bytes += pinned;
    stats_.entries = entries_.size();
}

void file_cache::erase(map::iterator it) noexcept {
    stats_.bytes -= it->second.pinned;
    lru_.erase(it->second.lru);
    entries_.erase(it);
    stats_.entries = entries_.size();
}

void file_cache::clear() noexcept {
    entries_.clear();
    lru_.clear();
    stats_.entries = 0;
    stats_.bytes = 0;
}

} // namespace coronet::fs
