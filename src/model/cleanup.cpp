#include "portmatrix/cleanup.hpp"

#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

namespace portmatrix::cleanup {

namespace {
// Fixed-size tables so the signal handler never allocates or locks.
constexpr int kMax = 256;
constexpr int kName = 96;
std::atomic<pid_t> g_pids[kMax];
char g_ns[kMax][kName];
std::atomic<bool> g_ns_used[kMax];
std::mutex g_mu;  // serialises registration (not used by the handler)

void handler(int sig) {
  run_all();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}
}  // namespace

void add_pid(pid_t pid) {
  std::lock_guard lk(g_mu);
  for (auto& p : g_pids) {
    pid_t zero = 0;
    if (p.compare_exchange_strong(zero, pid)) return;
  }
}

void remove_pid(pid_t pid) {
  std::lock_guard lk(g_mu);
  for (auto& p : g_pids) {
    pid_t v = pid;
    if (p.compare_exchange_strong(v, 0)) return;
  }
}

void add_netns(std::string_view name) {
  std::lock_guard lk(g_mu);
  if (name.size() >= kName) return;
  for (int i = 0; i < kMax; ++i) {
    if (g_ns_used[i]) continue;
    std::memcpy(g_ns[i], name.data(), name.size());
    g_ns[i][name.size()] = 0;
    g_ns_used[i] = true;
    return;
  }
}

void remove_netns(std::string_view name) {
  std::lock_guard lk(g_mu);
  for (int i = 0; i < kMax; ++i)
    if (g_ns_used[i] && name == g_ns[i]) g_ns_used[i] = false;
}

void run_all() noexcept {
  for (auto& p : g_pids) {
    pid_t pid = p.exchange(0);
    if (pid > 0) ::kill(pid, SIGKILL);
  }
  for (int i = 0; i < kMax; ++i) {
    if (!g_ns_used[i].exchange(false)) continue;
    char path[kName + 16] = "/run/netns/";
    const std::size_t base = std::strlen(path);
    std::memcpy(path + base, g_ns[i], ::strnlen(g_ns[i], kName - 1) + 1);
    ::umount2(path, MNT_DETACH);
    ::unlink(path);
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

}  // namespace portmatrix::cleanup
