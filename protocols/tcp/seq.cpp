#include "protocols/tcp/seq.hpp"

#include <ostream>

namespace coronet::tcp {

std::ostream& operator<<(std::ostream& os, seq32 s) { return os << "seq " << s.raw(); }
std::ostream& operator<<(std::ostream& os, ts32 s) { return os << "ts " << s.raw(); }
std::ostream& operator<<(std::ostream& os, const seq_range& r) {
    return os << "[" << r.begin.raw() << ", " << r.end.raw() << ")";
}

} // namespace coronet::tcp
