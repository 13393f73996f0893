// Listening sockets through netlink sock_diag, the way ss(8) reads them, with
// /proc/net as a fallback. Netlink goes through libmnl (netfilter project): it
// handles the sequence and port checks, multipart dumps, NLMSG_ERROR and
// truncated reads, which are easy to get subtly wrong by hand.
#include "portmatrix/sockets.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>

namespace portmatrix::sockets {

std::string_view to_string(Source s) { return s == Source::netlink ? "netlink" : "procfs"; }

std::string_view to_string(Scope s) {
  switch (s) {
    case Scope::wildcard: return "wildcard";
    case Scope::loopback: return "loopback";
    case Scope::specific: return "specific";
  }
  return "?";
}

IpAddr Listener::effective_address() const {
  if (address.family != Family::ipv6) return address;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(address.bytes.data(), kMapped, sizeof kMapped) != 0) return address;
  IpAddr v4;
  v4.family = Family::ipv4;
  std::copy(address.bytes.begin() + 12, address.bytes.end(), v4.bytes.begin());
  return v4;
}

Scope Listener::scope() const {
  if (device && *device == "lo") return Scope::loopback;
  const IpAddr a = effective_address();
  if (a.is_loopback()) return Scope::loopback;
  const bool zero = std::all_of(a.bytes.begin(), a.bytes.begin() + a.bits() / 8, [](std::uint8_t b) { return b == 0; });
  return zero ? Scope::wildcard : Scope::specific;
}

std::string Listener::endpoint() const {
  std::string s = address.family == Family::ipv6 ? fmt::format("[{}]:{}", address.to_string(), port)
                                                 : fmt::format("{}:{}", address.to_string(), port);
  if (device && !device->empty()) s += "%" + *device;
  return s;
}

void sort_listeners(std::vector<Listener>& ls) {
  std::sort(ls.begin(), ls.end(), [](const Listener& a, const Listener& b) {
    return std::tie(a.protocol, a.port, a.address, a.inode) < std::tie(b.protocol, b.port, b.address, b.inode);
  });
}

namespace {

// The interface name of an index in the calling thread's namespace ("if<N>" if it is gone).
std::string device_name(std::uint32_t index) {
  if (index == 0) return "";
  char name[IF_NAMESIZE] = {};
  if (::if_indextoname(index, name)) return name;
  return fmt::format("if{}", index);
}

struct MnlClose {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

struct DumpState {
  Protocol protocol;
  Family family;
  std::vector<Listener>* out;
};

int attr_cb(const nlattr* attr, void* data) {
  auto** tb = static_cast<const nlattr**>(data);
  const int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, INET_DIAG_MAX) < 0) return MNL_CB_OK;  // newer kernels: ignore what we do not know
  if (type == INET_DIAG_SKV6ONLY && mnl_attr_validate(attr, MNL_TYPE_U8) < 0) return MNL_CB_ERROR;
  tb[type] = attr;
  return MNL_CB_OK;
}

int diag_cb(const nlmsghdr* nlh, void* data) {
  auto* st = static_cast<DumpState*>(data);
  if (mnl_nlmsg_get_payload_len(nlh) < sizeof(inet_diag_msg)) {
    errno = EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* m = static_cast<const inet_diag_msg*>(mnl_nlmsg_get_payload(nlh));
  const nlattr* tb[INET_DIAG_MAX + 1] = {};
  if (mnl_attr_parse(nlh, sizeof(*m), attr_cb, tb) < 0) return MNL_CB_ERROR;
  Listener l;
  l.protocol = st->protocol;
  l.source = Source::netlink;
  l.address.family = st->family;
  std::memcpy(l.address.bytes.data(), m->id.idiag_src, st->family == Family::ipv4 ? 4 : 16);
  l.port = ntohs(m->id.idiag_sport);
  l.device = device_name(m->id.idiag_if);
  l.inode = m->idiag_inode;
  if (st->family == Family::ipv6 && tb[INET_DIAG_SKV6ONLY]) l.v6only = mnl_attr_get_u8(tb[INET_DIAG_SKV6ONLY]) != 0;
  // A UDP socket in the unconnected state with no local port is not bound: nothing reaches it.
  if (l.port != 0) st->out->push_back(std::move(l));
  return MNL_CB_OK;
}

}  // namespace

Expected<std::vector<Listener>> netlink_listeners(Protocol protocol, Family family) {
  PM_ASSERT(protocol == Protocol::tcp || protocol == Protocol::udp, "listeners are tcp or udp");
  std::vector<Listener> out;
  std::unique_ptr<mnl_socket, MnlClose> nl(mnl_socket_open(NETLINK_SOCK_DIAG));
  if (!nl) return Error{Error::Kind::kernel, fmt::format("netlink sock_diag socket: {}", std::strerror(errno))};
  if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return Error{Error::Kind::kernel, fmt::format("netlink sock_diag bind: {}", std::strerror(errno))};

  // The kernel sizes dump messages to fit the reader's buffer; were one cut short anyway,
  // libmnl would report it (ENOSPC) rather than hand over half a message.
  std::vector<char> buf(32768);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  const unsigned seq = static_cast<unsigned>(::getpid()) ^ 0x5d1a9u;
  nlh->nlmsg_seq = seq;
  auto* req = static_cast<inet_diag_req_v2*>(mnl_nlmsg_put_extra_header(nlh, sizeof(inet_diag_req_v2)));
  req->sdiag_family = family == Family::ipv4 ? AF_INET : AF_INET6;
  req->sdiag_protocol = protocol == Protocol::tcp ? IPPROTO_TCP : IPPROTO_UDP;
  // TCP: listening sockets. UDP: sockets that are not connected to one peer (the
  // kernel keeps them in TCP_CLOSE), i.e. those that receive from anyone.
  req->idiag_states = protocol == Protocol::tcp ? (1u << TCP_LISTEN) : (1u << TCP_CLOSE);

  if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
    return Error{Error::Kind::kernel, fmt::format("netlink sock_diag send: {}", std::strerror(errno))};
  const unsigned portid = mnl_socket_get_portid(nl.get());
  DumpState st{protocol, family, &out};
  while (true) {
    ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0) return Error{Error::Kind::kernel, fmt::format("netlink sock_diag receive: {}", std::strerror(errno))};
    int r = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid, diag_cb, &st);
    if (r == MNL_CB_STOP) break;
    if (r < 0) {
      const int e = errno;
      Error::Kind kind = e == EPERM || e == EACCES ? Error::Kind::permission
                         : e == ENOENT || e == EOPNOTSUPP ? Error::Kind::unsupported
                                                          : Error::Kind::kernel;
      return Error{kind, fmt::format("netlink sock_diag {} {}: {}", to_string(protocol),
                                     family == Family::ipv4 ? "IPv4" : "IPv6", std::strerror(e))};
    }
  }
  return out;
}

namespace {

bool parse_hex(std::string_view s, std::uint32_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

// "0100007F:0017" or 32 hex digits ":" port. The kernel prints each 32-bit word of
// the address as the integer it is in memory, so copying the value back into
// memory restores the address's bytes on any byte order.
bool parse_endpoint(std::string_view tok, Family family, IpAddr& addr, std::uint16_t& port) {
  auto colon = tok.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view a = tok.substr(0, colon), p = tok.substr(colon + 1);
  const std::size_t words = family == Family::ipv4 ? 1 : 4;
  if (a.size() != words * 8 || p.size() != 4) return false;
  addr = IpAddr{};
  addr.family = family;
  for (std::size_t i = 0; i < words; ++i) {
    std::uint32_t w = 0;
    if (!parse_hex(a.substr(i * 8, 8), w)) return false;
    std::memcpy(addr.bytes.data() + i * 4, &w, 4);
  }
  std::uint32_t pv = 0;
  if (!parse_hex(p, pv) || pv > 65535) return false;
  port = static_cast<std::uint16_t>(pv);
  return true;
}

}  // namespace

std::vector<Listener> parse_proc_net(std::string_view text, Protocol protocol, Family family, std::vector<std::string>* errors) {
  // States as the kernel numbers them (include/net/tcp_states.h).
  constexpr std::uint32_t kEstablished = 0x01, kClose = 0x07, kListen = 0x0A;
  std::vector<Listener> out;
  std::istringstream in{std::string(text)};
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream ls(line);
    std::vector<std::string> tok;
    for (std::string t; ls >> t;) tok.push_back(t);
    if (tok.empty() || tok[0] == "sl") continue;
    auto bad = [&](std::string_view why) {
      if (errors) errors->push_back(fmt::format("line {}: {}", lineno, why));
    };
    if (tok.size() < 10) {
      bad("fewer than 10 fields");
      continue;
    }
    Listener l;
    l.protocol = protocol;
    l.source = Source::procfs;
    l.device = std::nullopt;
    IpAddr remote;
    std::uint16_t rport = 0;
    std::uint32_t state = 0;
    if (!parse_endpoint(tok[1], family, l.address, l.port) || !parse_endpoint(tok[2], family, remote, rport)) {
      bad("malformed address");
      continue;
    }
    if (!parse_hex(tok[3], state)) {
      bad("malformed state");
      continue;
    }
    auto [p, ec] = std::from_chars(tok[9].data(), tok[9].data() + tok[9].size(), l.inode);
    if (ec != std::errc() || p != tok[9].data() + tok[9].size()) {
      bad("malformed inode");
      continue;
    }
    const bool keep = protocol == Protocol::tcp ? state == kListen : (state == kClose && rport == 0 && l.port != 0);
    if (protocol == Protocol::udp && state != kClose && state != kEstablished) bad("unexpected UDP state");
    if (keep) out.push_back(std::move(l));
  }
  return out;
}

std::size_t attribute_owners(std::vector<Listener>& ls, const std::string& proc_root) {
  std::map<std::uint64_t, std::vector<Listener*>> by_inode;
  for (auto& l : ls)
    if (l.inode != 0) by_inode[l.inode].push_back(&l);
  if (by_inode.empty()) return 0;
  std::size_t unreadable = 0;
  DIR* proc = ::opendir(proc_root.c_str());
  if (!proc) return 1;
  while (dirent* e = ::readdir(proc)) {
    const std::string_view name = e->d_name;
    pid_t pid = 0;
    auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || p != name.data() + name.size() || pid <= 0) continue;
    const std::string base = proc_root + "/" + std::string(name);
    DIR* fds = ::opendir((base + "/fd").c_str());
    if (!fds) {
      if (errno == EACCES || errno == EPERM) ++unreadable;  // ENOENT: the process has just ended
      continue;
    }
    std::string command;
    bool looked_up = false;
    while (dirent* f = ::readdir(fds)) {
      if (f->d_name[0] == '.') continue;
      char target[64] = {};
      ssize_t n = ::readlinkat(::dirfd(fds), f->d_name, target, sizeof target - 1);
      if (n <= 0) continue;
      std::string_view t(target, static_cast<std::size_t>(n));
      if (t.substr(0, 8) != "socket:[" || t.back() != ']') continue;
      std::uint64_t inode = 0;
      auto num = t.substr(8, t.size() - 9);
      if (std::from_chars(num.data(), num.data() + num.size(), inode).ec != std::errc()) continue;
      auto it = by_inode.find(inode);
      if (it == by_inode.end()) continue;
      if (!looked_up) {
        std::ifstream comm(base + "/comm");
        std::getline(comm, command);
        looked_up = true;
      }
      for (Listener* l : it->second)
        if (std::none_of(l->owners.begin(), l->owners.end(), [&](const Owner& o) { return o.pid == pid; }))
          l->owners.push_back({pid, command});
    }
    ::closedir(fds);
  }
  ::closedir(proc);
  for (auto& l : ls)
    std::sort(l.owners.begin(), l.owners.end(), [](const Owner& a, const Owner& b) { return a.pid < b.pid; });
  return unreadable;
}

namespace {

// Reads a /proc/net file of the calling thread's namespace; nullopt when it does
// not exist (IPv6 disabled), an Error when it cannot be read.
Expected<std::optional<std::string>> read_proc_net(const std::string& name) {
  const std::string path = "/proc/thread-self/net/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Error{Error::Kind::io, fmt::format("{}: {}", path, std::strerror(errno))};
  }
  std::string text;
  char buf[8192];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  const int e = errno;
  ::close(fd);
  if (n < 0) return Error{Error::Kind::io, fmt::format("{}: {}", path, std::strerror(e))};
  return std::optional<std::string>(std::move(text));
}

Status procfs_listeners(Protocol protocol, std::vector<Listener>& out, std::vector<std::string>& notes) {
  for (Family family : {Family::ipv4, Family::ipv6}) {
    std::string file = fmt::format("{}{}", to_string(protocol), family == Family::ipv6 ? "6" : "");
    auto text = read_proc_net(file);
    if (!text) return text.error();
    if (!*text) continue;
    std::vector<std::string> errors;
    auto got = parse_proc_net(**text, protocol, family, &errors);
    for (const auto& e : errors) notes.push_back(fmt::format("/proc/net/{}: {}", file, e));
    out.insert(out.end(), got.begin(), got.end());
  }
  return std::nullopt;
}

}  // namespace

Expected<Listing> list_listeners(Method method) {
  Listing listing;
  for (Protocol protocol : {Protocol::tcp, Protocol::udp}) {
    std::vector<Listener> got;
    bool use_procfs = method == Method::procfs;
    if (!use_procfs) {
      for (Family family : {Family::ipv4, Family::ipv6}) {
        auto r = netlink_listeners(protocol, family);
        if (!r) {
          if (method == Method::netlink) return r.error();
          listing.notes.push_back(fmt::format("{}; reading /proc/net instead", r.error().message));
          use_procfs = true;
          break;
        }
        got.insert(got.end(), r->begin(), r->end());
      }
    }
    if (use_procfs) {
      got.clear();
      if (auto e = procfs_listeners(protocol, got, listing.notes)) return *e;
    }
    listing.listeners.insert(listing.listeners.end(), got.begin(), got.end());
  }
  if (std::size_t unreadable = attribute_owners(listing.listeners); unreadable > 0)
    listing.notes.push_back(fmt::format("the open files of {} processes could not be read (not root?): their sockets show no owner",
                                        unreadable));
  sort_listeners(listing.listeners);
  return listing;
}

}  // namespace portmatrix::sockets
