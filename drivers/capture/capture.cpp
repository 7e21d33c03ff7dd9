#include "drivers/capture/capture.hpp"

namespace coronet {

void capture::start() {
    if (running_) return;
    nic_.add_tap(*this);
    running_ = true;
}

void capture::stop() {
    if (!running_) return;
    nic_.remove_tap(*this);
    running_ = false;
}

void capture::on_frame(frame_direction dir, const packet& frame, time_point when) {
    const auto bit = dir == frame_direction::rx ? capture_directions::rx : capture_directions::tx;
    if ((static_cast<unsigned>(which_) & static_cast<unsigned>(bit)) == 0) return;
    if (out_.write(frame, when))
        ++frames_;
    else
        ++write_errors_;
}

} // namespace coronet
