// A program outside coronet's tree, built against the installed package.
#include "framework/result.hpp"
#include <cstdio>

int main() {
    coronet::result<int> r = coronet::error{EBADF};
    if (r || r.error() != EBADF) return 1;
    std::puts("consumer ok");
    return 0;
}
