#pragma once
// stream_writer: an output stream over a stream socket that gathers small writes into one
// send, the counterpart of stream_reader.
//
//   stream_writer out(proc, conn, pool);
//   co_await out.write("HTTP/1.1 200 OK\r\n");   // copied into `pool`'s buffers, not sent
//   co_await out.write(headers);
//   co_await out.write(std::move(file_chunk));   // a packet: chained in, not copied
//   co_await out.flush();                        // one send of all of it
//
// Why. Each process::write is a system call and, with TCP_NODELAY, may leave as a segment of
// its own: a response written as head, headers and body costs three calls and up to three
// small segments. The writer keeps what it is given as one packet (copied bytes packed into
// whole buffers of `pool`, packets chained as they are) and flush() hands the packet to the
// socket with one send_zc: on the native stack TCP cuts full segments straight from those
// buffers; on the host stack it is one sendmsg gathering every slice (writev-style). A stack
// without send_zc gets one write per slice. The writer flushes by itself once `flush_at`
// bytes are pending.
//
// `pool` is the application's own (as coronet-httpd's head buffers): the socket shares its
// buffers until the peer acknowledges them. When it has no buffer free, the writer flushes
// what is pending and writes the bytes with a plain write (copied by the stack), so a write
// never waits for the pool and order is kept.
//
// Errors are those of write and send_zc (ECONNRESET, EPIPE, EBADF...). After an error the
// bytes not sent stay pending(); nothing is dropped silently. Bytes still pending when the
// writer is destroyed are not sent: flush first.
#include "framework/buffer/buffer_pool.hpp"
#include "framework/buffer/packet.hpp"
#include "framework/counters.hpp"
#include "framework/process/process.hpp"

#include <cstddef>
#include <span>
#include <string_view>

namespace coronet {

class stream_writer {
public:
    static constexpr std::size_t default_flush_at = 64 * 1024;

    stream_writer(process& p, handle h, buffer_pool& pool, std::size_t flush_at = default_flush_at)
        : proc_(&p), handle_(h), pool_(&pool), flush_at_(flush_at) {}

    task<result<>> write(std::span<const std::byte> bytes);
    task<result<>> write(std::string_view text) {
        return write(std::as_bytes(std::span(text.data(), text.size())));
    }
    // Chains `data` in without copying; its buffers are shared with the socket as send_zc's.
    task<result<>> write(packet data);
    // Sends everything pending, in order, in one gather.
    task<result<>> flush();

    // Bytes written and not yet handed to the socket.
    std::size_t pending() const noexcept { return ready_.length() + copying_.length(); }
    // Bytes copied into the writer's buffers (the one copy a write makes anyway).
    std::uint64_t bytes_copied() const noexcept { return copied_.value; }

private:
    // Copied bytes go into copying_, a packet of pool_'s buffers filled to the end; a packet
    // written or a flush moves it to the end of ready_, so that bytes copied later never land
    // in the buffers of a packet written before them.
    void seal() { ready_.append(std::move(copying_)); }

    process* proc_;
    handle handle_;
    buffer_pool* pool_;
    std::size_t flush_at_;
    packet ready_;
    packet copying_;
    counter copied_{};
};

} // namespace coronet
