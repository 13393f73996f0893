#include "portmatrix/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "portmatrix/cleanup.hpp"

namespace portmatrix {

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> v;
  for (const auto& a : argv) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  return v;
}

// In the child after fork: only async-signal-safe calls until exec.
[[noreturn]] void exec_child(const std::vector<char*>& argv, int netns_fd) {
  // Leave the parent's process group so a terminal's Ctrl-C reaches us only through the parent.
  ::setpgid(0, 0);
  // The parent's cleanup handler must never run in the child (it would act on
  // the parent's records); exec would reset it anyway, this covers the gap.
  // Ignored signals stay ignored, as exec keeps them.
  for (int s : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    if (::sigaction(s, nullptr, &old) == 0 && old.sa_handler != SIG_IGN) ::signal(s, SIG_DFL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) _exit(126);
  ::execvp(argv[0], argv.data());
  _exit(127);
}

// fork() with the child registered for cleanup before the cleanup signals can
// run on this thread again; -1 with errno set, or EINTR once the process is
// being torn down by a signal.
pid_t fork_registered() {
  cleanup::SpawnGate gate;
  if (!gate.open()) {
    errno = EINTR;
    return -1;
  }
  pid_t pid = ::fork();
  if (pid > 0) cleanup::add_pid(pid);
  return pid;
}

}  // namespace

Expected<RunResult> run_command(const std::vector<std::string>& argv, const RunOptions& opt) {
  if (argv.empty()) return Error{Error::Kind::internal, "run_command: empty argv"};
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    return Error{Error::Kind::io, fmt::format("pipe: {}", std::strerror(errno))};
  auto args = c_argv(argv);
  pid_t pid = fork_registered();
  if (pid < 0) {
    int e = errno;
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
    return Error{Error::Kind::io, fmt::format("fork: {}", std::strerror(e))};
  }
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    exec_child(args, opt.netns_fd);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  RunResult res;
  std::size_t written = 0;
  if (opt.input.empty()) {
    ::close(in[1]);
    in[1] = -1;
  } else {
    ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  }
  auto deadline = std::chrono::steady_clock::now() + opt.timeout;
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0 || in[1] >= 0) {
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      res.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    int n = ::poll(fds, 3, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      if (r > 0) {
        (i == 0 ? res.out : res.err).append(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        (i == 0 ? out[0] : err[0]) = -1;
        --open_fds;
      }
    }
    if (in[1] >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(in[1], opt.input.data() + written, opt.input.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = opt.input.size();
      if (written >= opt.input.size()) {
        ::close(in[1]);
        in[1] = -1;
      }
    }
  }
  for (int fd : {out[0], err[0], in[1]})
    if (fd >= 0) ::close(fd);
  res.exit_code = cleanup::wait_and_reap(pid);
  if (res.timed_out) res.exit_code = -1;
  return res;
}

Child::Child(Child&& o) noexcept : pid_(o.pid_), status_(o.status_) { o.pid_ = -1; }

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    stop();
    pid_ = o.pid_;
    status_ = o.status_;
    o.pid_ = -1;
  }
  return *this;
}

Expected<Child> Child::spawn(const std::vector<std::string>& argv, int netns_fd, const std::string& stdout_path,
                             const std::string& stderr_path) {
  if (argv.empty()) return Error{Error::Kind::internal, "spawn: empty argv"};
  auto open_out = [](const std::string& p) {
    return ::open(p.empty() ? "/dev/null" : p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  };
  int o = open_out(stdout_path), e = open_out(stderr_path);
  int nul = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (o < 0 || e < 0 || nul < 0) return Error{Error::Kind::io, fmt::format("spawn {}: cannot open output", argv[0])};
  auto args = c_argv(argv);
  pid_t pid = fork_registered();
  if (pid < 0) {
    int err = errno;
    for (int fd : {o, e, nul}) ::close(fd);
    return Error{Error::Kind::io, fmt::format("fork: {}", std::strerror(err))};
  }
  if (pid == 0) {
    ::dup2(nul, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    exec_child(args, netns_fd);
  }
  ::close(o);
  ::close(e);
  ::close(nul);
  Child c;
  c.pid_ = pid;
  return c;
}

bool Child::running() {
  if (pid_ < 0) return false;
  int st = cleanup::try_reap(pid_);
  if (st == -2) return true;
  status_ = st;
  pid_ = -1;
  return false;
}

int Child::stop(int sig, std::chrono::milliseconds grace) {
  if (pid_ < 0) return status_;
  ::kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid_, SIGKILL);
  status_ = cleanup::wait_and_reap(pid_);
  pid_ = -1;
  return status_;
}

}  // namespace portmatrix
