// A process-wide record of resources to release if the process is interrupted:
// child processes to kill and network namespaces to unmount. The signal handler
// only uses async-signal-safe calls.
//
// Children are registered between fork() and the parent's next step, with the
// cleanup signals blocked on the forking thread (SpawnGate), so the handler can
// never miss a child that exists: it waits for every thread inside a gate to
// register its child, refuses new gates, then kills and reaps every registered
// child before it removes the namespaces. A child killed half-way through
// `ip netns add` therefore cannot recreate a namespace after it was removed.
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <string_view>

namespace portmatrix::cleanup {

// A child is unregistered only by wait_and_reap()/try_reap(), never apart from
// reaping it.
void add_pid(pid_t pid);
void add_netns(std::string_view name);
void remove_netns(std::string_view name);
// Kills and reaps registered children, then removes registered namespaces
// (signal-safe). After it started, no SpawnGate opens again.
void run_all() noexcept;
// Installs handlers for SIGINT, SIGTERM and SIGHUP that call run_all() and then
// let the signal end the process. Idempotent.
void install_handlers();

// Hold one around fork() and add_pid(): the cleanup signals are blocked on this
// thread meanwhile, and run_all() waits for open gates before it kills. `open()`
// is false once the process is being cleaned up: then do not fork.
class SpawnGate {
 public:
  SpawnGate();
  ~SpawnGate();
  SpawnGate(const SpawnGate&) = delete;
  SpawnGate& operator=(const SpawnGate&) = delete;
  bool open() const { return open_; }

 private:
  sigset_t saved_{};
  bool open_ = false;
};

// Waits for `pid` to end, unregisters it, then reaps it, in that order: a pid
// stays registered only while it cannot have been reused. Returns the exit
// status (-1 when killed by a signal or on error).
int wait_and_reap(pid_t pid);
// The same without blocking: -2 while the child still runs.
int try_reap(pid_t pid);

}  // namespace portmatrix::cleanup
