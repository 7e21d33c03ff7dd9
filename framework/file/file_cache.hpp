#pragma once
// file_cache: the contents of small files kept in pool buffers, handed out again without a
// copy (a shared packet per get(), ready for send_zc), as a static-file server wants them.
//
// Bounds. `max_bytes` bounds what the cache pins, counted in whole buffers (a 100-byte file
// in a 64 KiB buffer costs 64 KiB), so the pool it reads into keeps the rest for others; a
// file above `max_entry_bytes` is never read into it (get() says EFBIG: stream it). When a
// new entry needs room the least recently used entries go first. Packets already handed
// out keep their buffers until dropped: the cache forgets an entry, the sender does not
// lose its bytes.
//
// Freshness. An entry is served as it is for `revalidate_after` after its file was last
// checked; then get() stats the path again (one statx) and reads the file anew when its
// size, modification time, inode or device differ (an edit in place, a replacement by
// rename, a truncation), as nginx's open_file_cache_valid does. 0 checks on every get().
// The clock is the current scheduler's, so a test on virtual time moves it.
#include "framework/buffer/packet.hpp"
#include "framework/clock.hpp"
#include "framework/file/file.hpp"
#include "framework/result.hpp"
#include "framework/task.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>

namespace coronet::fs {

struct file_cache_options {
    std::size_t max_bytes = std::size_t{32} << 20;      // buffer bytes held by all entries
    std::size_t max_entry_bytes = std::size_t{1} << 20; // larger files are not cached
    duration revalidate_after = std::chrono::seconds(1);
    // Set: get()'s paths are relative to this directory and opened with open_beneath, so no
    // path or symbolic link can reach a file outside it (EXDEV). It must outlive the cache.
    const file* root = nullptr;
};

struct file_cache_stats {
    std::uint64_t hits = 0;          // get() answered from an entry
    std::uint64_t misses = 0;        // get() that read the file
    std::uint64_t invalidations = 0; // entries dropped because the file changed or went away
    std::uint64_t evictions = 0;     // entries dropped to make room
    std::uint64_t too_large = 0;     // get() of a file above max_entry_bytes (EFBIG)
    std::uint64_t bytes_hit = 0;     // file bytes handed out from entries
    std::uint64_t bytes_read = 0;    // file bytes read by misses
    std::size_t entries = 0;
    std::size_t bytes = 0; // buffer bytes the entries hold now (<= max_bytes)
};

class file_cache {
public:
    struct contents {
        file_status status;
        packet data; // shares the cached buffers: do not write into them
    };

    // Reads into buffers of `pool`, which must outlive the cache and every packet it gave.
    explicit file_cache(buffer_pool& pool, file_cache_options opts = {})
        : pool_(pool), opts_(opts) {}
    file_cache(const file_cache&) = delete;
    file_cache& operator=(const file_cache&) = delete;

    // The bytes of the regular file `path` names (under the root, if the options give one).
    // Errors: stat's and open's (ENOENT, EACCES, ENOTDIR, EXDEV out of the root...), EISDIR for a directory, EINVAL for what is neither (a FIFO, a
    // device), EFBIG above max_entry_bytes, ENOBUFS when the pool is empty, EAGAIN when the
    // file changed size while it was being read.
    task<result<contents>> get(std::string path);
    // Forgets every entry.
    void clear() noexcept;

    const file_cache_stats& stats() const noexcept { return stats_; }
    const file_cache_options& options() const noexcept { return opts_; }

private:
    task<result<file_status>> stat_path(const std::string& path) const;
    task<result<file>> open_path(const std::string& path) const;

    struct entry {
        file_status status;
        packet data;
        std::size_t pinned = 0; // buffer bytes
        time_point checked;
        std::list<std::string>::iterator lru; // position in lru_ (front: most recent)
    };
    using map = std::unordered_map<std::string, entry>;

    task<result<contents>> load(std::string path);
    result<contents> hand_out(entry& e);
    void erase(map::iterator it) noexcept;
    void insert(const std::string& path, const file_status& st, const packet& data);

    buffer_pool& pool_;
    file_cache_options opts_;
    map entries_;
    std::list<std::string> lru_;
    file_cache_stats stats_;
};

} // namespace coronet::fs
