#include "portmatrix/netns.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "portmatrix/cleanup.hpp"

namespace portmatrix::netns {

bool available() { return ::geteuid() == 0; }

void install_cleanup_handlers() { cleanup::install_handlers(); }

std::string unique_name(std::string_view tag) {
  static std::atomic<int> counter{0};
  return fmt::format("pm{}-{}-{}", ::getpid(), tag, counter++);
}

void sweep_stale() {
  DIR* d = ::opendir("/run/netns");
  if (!d) return;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind("pm", 0) != 0) continue;
    auto dash = n.find('-');
    if (dash == std::string::npos || dash == 2) continue;
    long pid = std::strtol(n.substr(2, dash - 2).c_str(), nullptr, 10);
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::string path = "/run/netns/" + n;
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
  }
  ::closedir(d);
}

Expected<Namespace> Namespace::create(std::string name) {
  cleanup::install_handlers();
  cleanup::add_netns(name);
  auto r = run_command({"ip", "netns", "add", name});
  if (!r) {
    cleanup::remove_netns(name);
    return r.error();
  }
  if (r->exit_code != 0) {
    cleanup::remove_netns(name);
    return Error{Error::Kind::kernel, fmt::format("ip netns add {}: {}", name, r->err)};
  }
  Namespace ns;
  ns.name_ = std::move(name);
  ns.fd_ = ::open(("/run/netns/" + ns.name_).c_str(), O_RDONLY | O_CLOEXEC);
  if (ns.fd_ < 0) return Error{Error::Kind::kernel, fmt::format("open netns {}: {}", ns.name_, std::strerror(errno))};
  if (auto err = ns.set_up("lo")) return *err;
  return ns;
}

Namespace::Namespace(Namespace&& o) noexcept : name_(std::move(o.name_)), fd_(o.fd_) {
  o.name_.clear();
  o.fd_ = -1;
}

Namespace& Namespace::operator=(Namespace&& o) noexcept {
  if (this != &o) {
    remove();
    name_ = std::move(o.name_);
    fd_ = o.fd_;
    o.name_.clear();
    o.fd_ = -1;
  }
  return *this;
}

Namespace::~Namespace() { remove(); }

Status Namespace::remove() {
  if (name_.empty()) return std::nullopt;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  Status st;
  auto r = run_command({"ip", "netns", "delete", name_});
  if (!r || r->exit_code != 0) {
    std::string path = "/run/netns/" + name_;
    ::umount2(path.c_str(), MNT_DETACH);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      st = Error{Error::Kind::kernel, fmt::format("cannot remove namespace {}", name_)};
  }
  cleanup::remove_netns(name_);
  name_.clear();
  return st;
}

Expected<RunResult> Namespace::run(const std::vector<std::string>& argv, const RunOptions& options) const {
  RunOptions o = options;
  o.netns_fd = fd_;
  return run_command(argv, o);
}

Status Namespace::check(const std::vector<std::string>& argv, const RunOptions& options) const {
  auto r = run(argv, options);
  if (!r) return r.error();
  if (r->exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return Error{Error::Kind::kernel, fmt::format("[{}] {}: {}", name_, cmd, r->err.empty() ? r->out : r->err)};
  }
  return std::nullopt;
}

Status Namespace::enter(const std::function<void()>& fn) const {
  Status st;
  std::thread t([&] {
    if (::setns(fd_, CLONE_NEWNET) != 0) {
      st = Error{Error::Kind::kernel, fmt::format("setns {}: {}", name_, std::strerror(errno))};
      return;
    }
    fn();
  });
  t.join();
  return st;
}

Expected<int> Namespace::socket(int domain, int type, int protocol) const {
  int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return Error{Error::Kind::kernel, fmt::format("open own netns: {}", std::strerror(errno))};
  if (::setns(fd_, CLONE_NEWNET) != 0) {
    int e = errno;
    ::close(self);
    return Error{Error::Kind::kernel, fmt::format("setns {}: {}", name_, std::strerror(e))};
  }
  int s = ::socket(domain, type | SOCK_CLOEXEC, protocol);
  int e = errno;
  int back = ::setns(self, CLONE_NEWNET);
  ::close(self);
  PM_ASSERT(back == 0, "cannot return to the original network namespace");
  if (s < 0) return Error{Error::Kind::kernel, fmt::format("socket in {}: {}", name_, std::strerror(e))};
  return s;
}

Expected<Child> Namespace::spawn(const std::vector<std::string>& argv, const std::string& stdout_path,
                                 const std::string& stderr_path) const {
  auto c = Child::spawn(argv, fd_, stdout_path, stderr_path);
  return c;
}

Status Namespace::add_address(const std::string& ifname, const Prefix& p) const {
  std::vector<std::string> argv = {"ip", "addr", "add", fmt::format("{}/{}", p.addr.to_string(), p.len), "dev", ifname};
  if (p.addr.family == Family::ipv6) argv.push_back("nodad");
  return check(argv);
}

Status Namespace::set_up(const std::string& ifname) const { return check({"ip", "link", "set", ifname, "up"}); }

Status in_private_namespace(const std::function<void()>& fn) {
  Status st;
  std::thread t([&] {
    // unshare affects only this thread: the process's other threads stay where they are.
    if (::unshare(CLONE_NEWNET) != 0) {
      const int e = errno;
      st = Error{e == EPERM ? Error::Kind::permission : Error::Kind::kernel,
                 fmt::format("cannot create a private network namespace: {}", std::strerror(e))};
      return;
    }
    fn();
  });
  t.join();
  return st;
}

Status add_veth(const Namespace& a, const std::string& if_a, const Namespace& b, const std::string& if_b) {
  if (auto e = a.check({"ip", "link", "add", if_a, "type", "veth", "peer", "name", if_b, "netns", b.name()})) return e;
  if (auto e = a.set_up(if_a)) return e;
  return b.set_up(if_b);
}

}  // namespace portmatrix::netns
