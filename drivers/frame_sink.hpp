#pragma once
// frame_sink: anything that takes Ethernet frames one at a time (a driver's transmit
// queue, the stack's receive input, a stage in between). frame_stage: a sink that does
// something with a frame (delays it, drops it, shapes its rate) and passes it on to the
// next sink, now or later.
#include "framework/buffer/packet.hpp"
#include "framework/result.hpp"

namespace coronet {

class frame_sink {
public:
    virtual ~frame_sink() = default;
    // Takes the frame. An error (ENOBUFS for a full queue) means it was dropped.
    virtual result<> push(packet&& frame) = 0;
};

class frame_stage : public frame_sink {
public:
    void set_next(frame_sink* next) noexcept { next_ = next; }
    frame_sink* next() const noexcept { return next_; }

protected:
    result<> forward(packet&& frame) { return next_ ? next_->push(std::move(frame)) : result<>{error{ENXIO}}; }

private:
    frame_sink* next_ = nullptr;
};

} // namespace coronet
