#include "portmatrix/cleanup.hpp"

#include <pthread.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace portmatrix::cleanup {

namespace {
// Fixed-size, lock-free tables: the handler may run on any thread at any
// moment, so it never allocates, locks or waits for a lock.
constexpr int kMax = 256;
constexpr int kName = 96;
std::atomic<pid_t> g_pids[kMax];

// A namespace slot is claimed (free -> writing), filled, then published (used).
// Only the claimer writes the name, so a used slot's name is stable.
enum Slot : int { kFree = 0, kWriting = 1, kUsed = 2 };
std::atomic<int> g_ns_state[kMax];
char g_ns[kMax][kName];

std::atomic<bool> g_dying{false};
std::atomic<int> g_in_gate{0};

void sleep_briefly() noexcept {
  timespec ts{0, 100'000};
  ::nanosleep(&ts, nullptr);
}

void handler(int sig) {
  run_all();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}
}  // namespace

void add_pid(pid_t pid) {
  for (auto& p : g_pids) {
    pid_t zero = 0;
    if (p.compare_exchange_strong(zero, pid)) return;
  }
}

namespace {
// True when this call unregistered `pid`.
bool take_pid(pid_t pid) {
  for (auto& p : g_pids) {
    pid_t v = pid;
    if (p.compare_exchange_strong(v, 0)) return true;
  }
  return false;
}
}  // namespace

void add_netns(std::string_view name) {
  if (name.size() >= kName) return;
  for (int i = 0; i < kMax; ++i) {
    int free = kFree;
    if (!g_ns_state[i].compare_exchange_strong(free, kWriting)) continue;
    std::memcpy(g_ns[i], name.data(), name.size());
    g_ns[i][name.size()] = 0;
    g_ns_state[i].store(kUsed);
    return;
  }
}

void remove_netns(std::string_view name) {
  for (int i = 0; i < kMax; ++i) {
    if (g_ns_state[i].load() != kUsed || name != g_ns[i]) continue;
    int used = kUsed;
    g_ns_state[i].compare_exchange_strong(used, kFree);
  }
}

void run_all() noexcept {
  g_dying.store(true);
  // A thread inside a SpawnGate has these signals blocked and does not wait on
  // anything: it is between fork() and add_pid(). Let it register its child.
  while (g_in_gate.load() > 0) sleep_briefly();
  pid_t taken[kMax];
  int n = 0;
  for (auto& p : g_pids) {
    pid_t pid = p.exchange(0);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      taken[n++] = pid;
    }
  }
  // Reap them: a killed `ip netns add` must be gone before its namespace is
  // removed, or it could finish creating it afterwards.
  for (int i = 0; i < n; ++i) {
    int st = 0;
    while (::waitpid(taken[i], &st, 0) < 0 && errno == EINTR) {
    }
  }
  for (int i = 0; i < kMax; ++i) {
    int used = kUsed;
    if (!g_ns_state[i].compare_exchange_strong(used, kWriting)) continue;
    char path[kName + 16] = "/run/netns/";
    const std::size_t base = std::strlen(path);
    std::memcpy(path + base, g_ns[i], ::strnlen(g_ns[i], kName - 1) + 1);
    ::umount2(path, MNT_DETACH);
    ::unlink(path);
    g_ns_state[i].store(kFree);
  }
}

void install_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &sa, nullptr);
  });
}

SpawnGate::SpawnGate() {
  sigset_t block;
  sigemptyset(&block);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&block, s);
  ::pthread_sigmask(SIG_BLOCK, &block, &saved_);
  // Paired with run_all(): it stores g_dying then reads g_in_gate; we add to
  // g_in_gate then read g_dying. Sequential consistency lets at most one miss.
  g_in_gate.fetch_add(1);
  if (g_dying.load()) {
    g_in_gate.fetch_sub(1);
    return;
  }
  open_ = true;
}

SpawnGate::~SpawnGate() {
  if (open_) g_in_gate.fetch_sub(1);
  ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
}

namespace {
int status_of(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : -1; }

// Reaps an ended child, unless run_all() took it: then it reaps it itself.
int reap(pid_t pid) {
  if (!take_pid(pid) && g_dying.load()) return -1;
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return -1;
  return status_of(st);
}
}  // namespace

int wait_and_reap(pid_t pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) < 0)
    if (errno != EINTR) return -1;
  return reap(pid);
}

int try_reap(pid_t pid) {
  siginfo_t info{};
  info.si_pid = 0;
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT | WNOHANG) < 0) return -1;
  if (info.si_pid == 0) return -2;
  return reap(pid);
}

}  // namespace portmatrix::cleanup
