// Listening sockets of the calling thread's network namespace: TCP sockets in
// LISTEN and bound, unconnected UDP sockets, IPv4 and IPv6, read through netlink
// sock_diag as `ss -tuln` does, with /proc/net/{tcp,tcp6,udp,udp6} as a fallback,
// and the processes that hold them where /proc/<pid>/fd may be read.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portmatrix/address.hpp"
#include "portmatrix/diag.hpp"
#include "portmatrix/model.hpp"

namespace portmatrix::sockets {

// Where a listing came from.
enum class Source : std::uint8_t { netlink, procfs };
std::string_view to_string(Source s);

// A process that holds a socket open.
struct Owner {
  pid_t pid = 0;
  std::string command;  // /proc/<pid>/comm
  friend bool operator==(const Owner&, const Owner&) = default;
};

// How widely a socket is bound.
enum class Scope : std::uint8_t {
  wildcard,  // 0.0.0.0 or :: (every address of the host)
  loopback,  // 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104, or bound to the device lo
  specific,  // one other address
};
std::string_view to_string(Scope s);

struct Listener {
  Protocol protocol = Protocol::tcp;  // tcp or udp
  IpAddr address;                     // the bound address (family = the socket's family)
  std::uint16_t port = 0;
  // The device of SO_BINDTODEVICE: "" not bound to one; nullopt unknown (/proc does not show it).
  std::optional<std::string> device;
  // IPV6_V6ONLY of an IPv6 socket; nullopt for IPv4 and when unknown (/proc).
  std::optional<bool> v6only;
  std::uint64_t inode = 0;            // the socket's inode, 0 when unknown
  std::vector<Owner> owners;          // sorted by pid; empty when not permitted or not found
  Source source = Source::netlink;

  Scope scope() const;
  // The address as IPv4 when it is IPv4-mapped (::ffff:a.b.c.d), else as bound.
  IpAddr effective_address() const;
  // "0.0.0.0:23", "[::]:22", "127.0.0.1:23%lo".
  std::string endpoint() const;
};

// Sorts by protocol, port, family, address, inode: the order every listing is reported in.
void sort_listeners(std::vector<Listener>& ls);

// How to read the sockets.
enum class Method : std::uint8_t {
  automatic,  // netlink per protocol, /proc/net for any protocol netlink cannot list
  netlink,    // netlink only (an error if the kernel refuses)
  procfs,     // /proc/net only
};

struct Listing {
  std::vector<Listener> listeners;  // sorted
  std::vector<std::string> notes;   // fallbacks taken and why, owners that could not be read
};

// Lists the listening sockets of the calling thread's network namespace, with owners.
Expected<Listing> list_listeners(Method method = Method::automatic);

// One protocol and family through netlink sock_diag (inet_diag_req_v2), without owners.
Expected<std::vector<Listener>> netlink_listeners(Protocol protocol, Family family);

// Parses the text of /proc/net/tcp, tcp6, udp or udp6 (addresses in the byte order of
// this machine, as the kernel prints them) and keeps listening TCP or unconnected
// UDP sockets. Malformed lines are reported in errors (if given) and skipped.
std::vector<Listener> parse_proc_net(std::string_view text, Protocol protocol, Family family,
                                     std::vector<std::string>* errors = nullptr);

// Fills Listener::owners by matching socket inodes with the "socket:[N]" links in
// /proc/<pid>/fd under proc_root. Returns how many processes could not be read.
std::size_t attribute_owners(std::vector<Listener>& ls, const std::string& proc_root = "/proc");

}  // namespace portmatrix::sockets
