#include "drivers/tap/tap_device.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace coronet {

namespace {

// The largest frame the kernel builds once TUN_F_TSO4 is on: a 64 KiB IPv4 datagram in an
// Ethernet frame, after the virtio header.
constexpr std::size_t max_gso_frame_bytes = vnet_header_bytes + 14 + 65535;

const char* const need_cap =
    " needs CAP_NET_ADMIN in the current network namespace (run as root or grant the "
    "capability)";

[[noreturn]] void fail(int code, const std::string& what) {
    throw std::system_error(code, std::generic_category(), what);
}

// Closes a descriptor on every path out of open().
struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

ifreq request_for(const std::string& name) {
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, name.data(), std::min(name.size(), std::size_t{IFNAMSIZ - 1}));
    return ifr;
}

// An ioctl on the interface through a socket of the current namespace.
void interface_ioctl(int sock, unsigned long op, ifreq& ifr, const char* op_name) {
    if (::ioctl(sock, op, &ifr) == 0) return;
    int e = errno;
    std::string what = std::string("coronet: ") + op_name + " on " + ifr.ifr_name;
    if (e == EPERM) what += need_cap;
    fail(e, what);
}

void set_interface(const std::string& name, const tap_options& o) {
    int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) fail(errno, "coronet: socket(AF_INET) to configure " + name);
    fd_guard guard{sock};
    if (o.kernel_mac) {
        ifreq ifr = request_for(name);
        ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        for (std::size_t i = 0; i < mac_address::size; ++i)
            ifr.ifr_hwaddr.sa_data[i] = static_cast<char>(o.kernel_mac->octets()[i]);
        interface_ioctl(sock, SIOCSIFHWADDR, ifr, "SIOCSIFHWADDR");
    }
    ifreq mtu = request_for(name);
    mtu.ifr_mtu = static_cast<int>(o.mtu);
    interface_ioctl(sock, SIOCSIFMTU, mtu, "SIOCSIFMTU");
    if (o.kernel_queue != 0) {
        ifreq qlen = request_for(name);
        qlen.ifr_qlen = static_cast<int>(o.kernel_queue);
        interface_ioctl(sock, SIOCSIFTXQLEN, qlen, "SIOCSIFTXQLEN");
    }
    if (o.link_up) {
        ifreq flags = request_for(name);
        interface_ioctl(sock, SIOCGIFFLAGS, flags, "SIOCGIFFLAGS");
        flags.ifr_flags = static_cast<short>(flags.ifr_flags | IFF_UP);
        interface_ioctl(sock, SIOCSIFFLAGS, flags, "SIOCSIFFLAGS");
    }
}

// Asks for `wanted`, dropping TSO, then checksum offload, if the kernel refuses them.
unsigned set_offloads(int fd, const std::string& name, unsigned wanted) {
    const unsigned tries[] = {wanted, wanted & TUN_F_CSUM, 0u};
    for (unsigned ask : tries) {
        if (::ioctl(fd, TUNSETOFFLOAD, static_cast<unsigned long>(ask)) == 0) return ask;
        if (errno != EINVAL) fail(errno, "coronet: TUNSETOFFLOAD on " + name);
    }
    fail(EINVAL, "coronet: TUNSETOFFLOAD on " + name + " refuses even no offloads");
}

// One of the legacy ethtool switches of the interface (ETHTOOL_GTXCSUM, ETHTOOL_GTSO).
bool ethtool_flag(int sock, const std::string& name, std::uint32_t cmd, const char* cmd_name) {
    ethtool_value v{};
    v.cmd = cmd;
    ifreq ifr = request_for(name);
    ifr.ifr_data = reinterpret_cast<char*>(&v);
    interface_ioctl(sock, SIOCETHTOOL, ifr, cmd_name);
    return v.data != 0;
}

// A later queue of a multi-queue device inherits the device's framing and offloads (tun keeps
// them per device, and only the first queue's TUNSETIFF sets the flags): it checks them
// against what its own options want instead of setting them, since setting would change
// every other queue's device under its NIC. TSO4 wanted but absent is the first queue's own
// fallback (the kernel refused it); present but not wanted would hand this queue's buffers
// frames of 64 KiB.
unsigned check_queue_matches(int fd, const std::string& name, unsigned wanted) {
    ifreq got{};
    if (::ioctl(fd, TUNGETIFF, &got) != 0) fail(errno, "coronet: TUNGETIFF on " + name);
    unsigned need = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
    if ((static_cast<unsigned>(got.ifr_flags) & need) != need)
        fail(EINVAL, "coronet: attach_queue " + name +
                         ": the device was not opened with IFF_NO_PI and IFF_VNET_HDR (open its "
                         "first queue with coronet's tap_device)");
    int hdr = 0;
    if (::ioctl(fd, TUNGETVNETHDRSZ, &hdr) != 0) fail(errno, "coronet: TUNGETVNETHDRSZ on " + name);
    if (hdr != static_cast<int>(vnet_header_bytes))
        fail(EINVAL, "coronet: attach_queue " + name + ": the device's virtio header is " +
                         std::to_string(hdr) + " bytes, not " + std::to_string(vnet_header_bytes) +
                         " (open its first queue with coronet's tap_device)");
    int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) fail(errno, "coronet: socket(AF_INET) to read the offloads of " + name);
    fd_guard guard{sock};
    unsigned have = 0;
    if (ethtool_flag(sock, name, ETHTOOL_GTXCSUM, "ETHTOOL_GTXCSUM")) have |= TUN_F_CSUM;
    if (ethtool_flag(sock, name, ETHTOOL_GTSO, "ETHTOOL_GTSO")) have |= TUN_F_TSO4;
    bool csum_differs = ((have ^ wanted) & TUN_F_CSUM) != 0;
    bool tso_unwanted = (have & TUN_F_TSO4) != 0 && (wanted & TUN_F_TSO4) == 0;
    if (csum_differs || tso_unwanted)
        fail(EINVAL, "coronet: attach_queue " + name + ": the device's offloads (TUN_F flags " +
                         std::to_string(have) + ") are not what this queue asks (" +
                         std::to_string(wanted) +
                         "): give every queue the same checksum_offload, tso and buffer size");
    return have;
}

} // namespace

tap_device tap_device::open(const tap_options& o, std::size_t rx_frame_bytes) {
    if (o.name.size() >= IFNAMSIZ)
        fail(EINVAL, "coronet: interface name \"" + o.name + "\" is longer than " +
                         std::to_string(IFNAMSIZ - 1) + " bytes");
    bool attaching = o.mode != tap_open_mode::create;
    if (attaching && ::if_nametoindex(o.name.c_str()) == 0)
        fail(ENODEV, "coronet: no TAP device named \"" + o.name +
                         "\" to attach to in this network namespace");

    fd_guard fd{::open(o.tun_path.c_str(), O_RDWR | O_CLOEXEC)};
    if (fd.fd < 0) {
        int e = errno;
        std::string what = "coronet: cannot open the tun/tap control device " + o.tun_path;
        if (e == ENOENT)
            what += " (no such file: load the tun module, or create the node: mknod c 10 200)";
        if (e == EACCES || e == EPERM)
            what += " (permission denied: it" + std::string(need_cap) + ")";
        fail(e, what);
    }

    ifreq ifr = request_for(o.name);
    bool later_queue = o.mode == tap_open_mode::attach_queue;
    unsigned flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (o.mode == tap_open_mode::create) flags |= IFF_TUN_EXCL;
    if (o.multi_queue || later_queue) flags |= IFF_MULTI_QUEUE;
    ifr.ifr_flags = static_cast<short>(flags);
    if (::ioctl(fd.fd, TUNSETIFF, &ifr) != 0) {
        int e = errno;
        std::string what = "coronet: TUNSETIFF " + o.name + ": ";
        if (e == EPERM)
            what += std::string("creating or attaching a TAP device") + need_cap;
        else if (e == EBUSY)
            what += o.mode == tap_open_mode::create
                        ? "a device of that name exists already (open mode create)"
                        : "the device is in use by another process";
        else if (e == EINVAL && (flags & IFF_MULTI_QUEUE))
            what += "the device exists and is not a multi-queue TAP device (open its first "
                    "queue with multi_queue = true)";
        else if (e == EINVAL)
            what += "the device exists and is not a single-queue TAP device (set multi_queue "
                    "for a multi-queue one)";
        else
            what += "the kernel refused the device";
        fail(e, what);
    }

    tap_device d;
    d.name_ = ifr.ifr_name;
    unsigned wanted = 0;
    if (o.checksum_offload) wanted |= TUN_F_CSUM;
    if (o.checksum_offload && o.tso && rx_frame_bytes >= max_gso_frame_bytes) wanted |= TUN_F_TSO4;
    if (later_queue) {
        d.offloads_ = check_queue_matches(fd.fd, d.name_, wanted);
        d.ifindex_ = static_cast<int>(::if_nametoindex(d.name_.c_str()));
        d.fd_ = fd.release();
        return d;
    }
    int hdr = static_cast<int>(vnet_header_bytes);
    if (::ioctl(fd.fd, TUNSETVNETHDRSZ, &hdr) != 0)
        fail(errno, "coronet: TUNSETVNETHDRSZ 10 on " + d.name_);

    d.offloads_ = set_offloads(fd.fd, d.name_, wanted);

    set_interface(d.name_, o);
    d.ifindex_ = static_cast<int>(::if_nametoindex(d.name_.c_str()));
    d.fd_ = fd.release();
    return d;
}

tap_device::tap_device(tap_device&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), ifindex_(other.ifindex_), offloads_(other.offloads_),
      name_(std::move(other.name_)) {}

tap_device::~tap_device() {
    if (fd_ >= 0) ::close(fd_);
}

} // namespace coronet
