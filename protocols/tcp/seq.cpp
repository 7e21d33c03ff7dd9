#include "protocols/tcp/seq.hpp"

#include <ostream>

namespace coronet::tcp {

std::ostream& operator<<(std::ostream& os, seq32 s) { return os << "seq " << s.raw(); }
std::ostream& operator<<(std::ostream& os, ts32 s) { return os << "ts " << s.raw(); }

} // namespace coronet::tcp
