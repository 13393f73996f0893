// Network namespaces this process creates for proofs and tests: created with
// iproute2, always removed (on destruction, and by a signal handler on Ctrl-C or
// SIGTERM), with veth links and documentation addresses between them.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "portmatrix/address.hpp"
#include "portmatrix/diag.hpp"
#include "portmatrix/process.hpp"

namespace portmatrix::netns {

// True when the process may create network namespaces (root with CAP_SYS_ADMIN).
bool available();

// Installs SIGINT/SIGTERM/SIGHUP handlers that stop registered child processes
// and remove registered namespaces before the process ends. Idempotent.
void install_cleanup_handlers();

// Removes namespaces named "pm<PID>-..." left behind by processes that no longer run.
void sweep_stale();

// A unique namespace name "pm<PID>-<tag>-<N>".
std::string unique_name(std::string_view tag);

class Namespace {
 public:
  // Creates the namespace (with its loopback up).
  static Expected<Namespace> create(std::string name);
  Namespace() = default;
  Namespace(Namespace&& o) noexcept;
  Namespace& operator=(Namespace&& o) noexcept;
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;
  ~Namespace();

  const std::string& name() const { return name_; }
  int fd() const { return fd_; }
  // Runs an iproute2/nft/... command inside the namespace.
  Expected<RunResult> run(const std::vector<std::string>& argv, const RunOptions& options = {}) const;
  // Like run, but an exit code other than 0 is an Error carrying stderr.
  Status check(const std::vector<std::string>& argv, const RunOptions& options = {}) const;
  // Calls fn on a thread that has entered the namespace; sockets it opens live there.
  Status enter(const std::function<void()>& fn) const;
  // Opens a socket inside the namespace from the calling thread.
  Expected<int> socket(int domain, int type, int protocol) const;
  // Starts a background process inside the namespace (stopped on destruction of the Child).
  Expected<Child> spawn(const std::vector<std::string>& argv, const std::string& stdout_path = "",
                        const std::string& stderr_path = "") const;
  // Adds an address to an interface (IPv6 without duplicate address detection).
  Status add_address(const std::string& ifname, const Prefix& p) const;
  Status set_up(const std::string& ifname) const;
  Status remove();

 private:
  std::string name_;
  int fd_ = -1;
};

// Calls fn on a thread that has unshared into a new, empty network namespace of
// its own. The kernel removes it when the thread ends, so there is no name to
// register or clean up, even after a crash. Needs CAP_SYS_ADMIN.
Status in_private_namespace(const std::function<void()>& fn);

// Joins two namespaces with a veth pair (interface names up to 15 characters) and sets both ends up.
Status add_veth(const Namespace& a, const std::string& if_a, const Namespace& b, const std::string& if_b);

}  // namespace portmatrix::netns
