#pragma once
// connect(p, r, "name:port"): what a client means by connecting to a name. The name goes
// through the resolver (a numeric address needs none), then each of its addresses is
// tried in turn until one connects; the last one's error if none does. EINVAL for text
// that is not "host:port" with a port 1..65535; the resolver's errors (resolver.hpp).
//
// connect(p, "name:port") does the same with a resolver of the system's configuration
// (/etc/hosts, /etc/resolv.conf), made for this call.
#include "framework/process/process.hpp"
#include "protocols/dns/resolver.hpp"

#include <string>
#include <string_view>

namespace coronet::dns {

// "example.test:80" as its host and port; EINVAL otherwise.
struct host_port {
    std::string host;
    coronet::port port;
    static result<host_port> parse(std::string_view text);
};

task<result<handle>> connect(process& p, resolver& r, std::string_view name_and_port);
task<result<handle>> connect(process& p, std::string_view name_and_port);

} // namespace coronet::dns
