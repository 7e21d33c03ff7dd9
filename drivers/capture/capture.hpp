#pragma once
// capture: the tcpdump hook. A frame_tap on one NIC that writes the frames crossing its
// driver boundary, in both directions or one, to a pcap_writer (several NICs may share a
// writer). Switched on and off per NIC: start() adds the tap, stop() removes it; a capture
// is off until started and stops when destroyed.
//
// Transmitted frames are seen as the stack hands them over, before the shaper and fault
// stages; received ones as the driver delivers them, before the receive stages.
#include "drivers/capture/pcap_writer.hpp"
#include "drivers/nic.hpp"

#include <cstdint>

namespace coronet {

enum class capture_directions : std::uint8_t { rx = 1, tx = 2, both = 3 };

class capture final : public frame_tap {
public:
    capture(nic& n, pcap_writer& out, capture_directions which = capture_directions::both)
        : nic_(n), out_(out), which_(which) {}
    ~capture() override { stop(); }
    capture(const capture&) = delete;
    capture& operator=(const capture&) = delete;

    void start();
    void stop();
    bool running() const noexcept { return running_; }

    void on_frame(frame_direction dir, const packet& frame, time_point when) override;

    std::uint64_t frames() const noexcept { return frames_; }
    std::uint64_t write_errors() const noexcept { return write_errors_; }

private:
    nic& nic_;
    pcap_writer& out_;
    capture_directions which_;
    bool running_ = false;
    std::uint64_t frames_ = 0;
    std::uint64_t write_errors_ = 0;
};

} // namespace coronet
