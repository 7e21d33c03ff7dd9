#pragma once
// The tour of the kernel core that coronet-demo --tour prints.
namespace coronet::examples {

struct tour_options {
    int items = 5;              // items the producer makes
    int simulated_minutes = 60; // virtual minutes the production takes
};

// Two processes share a semaphore through a duplicated handle with fewer rights, a third
// crashes without harming them, on virtual time.
void processes_and_handles(const tour_options& opt);
// io_uring moves bytes through a pipe while when_any cancels a read that lost a race.
void io_uring_tour();

} // namespace coronet::examples
