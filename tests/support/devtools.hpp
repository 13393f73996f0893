// A small Chrome DevTools Protocol client for the browser tests: headless
// Chromium started with --remote-debugging-pipe reads JSON commands from its
// file descriptor 3 and writes replies and events to descriptor 4, each message
// ended by a NUL byte. No network socket is opened.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pmtest {

class DevTools {
 public:
  using json = nlohmann::json;
  using Clock = std::chrono::steady_clock;

  // Starts Chromium on about:blank with a fresh profile and attaches to its page.
  // Returns null with a reason in *error when the browser cannot be driven.
  static std::unique_ptr<DevTools> launch(const std::string& chromium, std::string* error) {
    std::unique_ptr<DevTools> dt(new DevTools);
    dt->profile_ = std::filesystem::temp_directory_path().string() + "/pm-devtools-XXXXXX";
    if (!::mkdtemp(dt->profile_.data())) return fail(error, "mkdtemp failed");
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0) return fail(error, "pipe failed");
    if (::pipe2(from_child, O_CLOEXEC) != 0) {
      ::close(to_child[0]);
      ::close(to_child[1]);
      return fail(error, "pipe failed");
    }
    std::vector<std::string> args = {chromium,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--no-first-run",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--remote-debugging-pipe",
                                     "--window-size=1400,1000",
                                     "--user-data-dir=" + dt->profile_,
                                     "about:blank"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
      for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) ::close(fd);
      return fail(error, "fork failed");
    }
    if (pid == 0) {
      // Move both ends above 4 first so the dup2s below cannot overwrite each other.
      int in = ::fcntl(to_child[0], F_DUPFD, 10);
      int out = ::fcntl(from_child[1], F_DUPFD, 10);
      int devnull = ::open("/dev/null", O_RDWR);
      if (in < 0 || out < 0 || devnull < 0 || ::dup2(in, 3) < 0 || ::dup2(out, 4) < 0 || ::dup2(devnull, 0) < 0 ||
          ::dup2(devnull, 1) < 0 || ::dup2(devnull, 2) < 0)
        ::_exit(127);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(to_child[0]);
    ::close(from_child[1]);
    dt->pid_ = pid;
    dt->to_ = to_child[1];
    dt->from_ = from_child[0];

    json targets = dt->call("Target.getTargets", json::object(), false);
    std::string target;
    for (const auto& t : targets.value("targetInfos", json::array()))
      if (t.value("type", "") == "page") target = t.value("targetId", "");
    if (target.empty()) return fail(error, "no page target: " + dt->last_error_);
    json attached = dt->call("Target.attachToTarget", {{"targetId", target}, {"flatten", true}}, false);
    dt->session_ = attached.value("sessionId", "");
    if (dt->session_.empty()) return fail(error, "cannot attach to the page: " + dt->last_error_);
    dt->call("Runtime.enable");
    dt->call("Page.enable");
    if (!dt->last_error_.empty()) return fail(error, dt->last_error_);
    return dt;
  }

  ~DevTools() {
    if (pid_ > 0) {
      call("Browser.close", json::object(), false);
      auto deadline = Clock::now() + std::chrono::seconds(10);
      int status = 0;
      while (::waitpid(pid_, &status, WNOHANG) == 0) {
        if (Clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, &status, 0);
          break;
        }
        ::usleep(20000);
      }
    }
    if (to_ >= 0) ::close(to_);
    if (from_ >= 0) ::close(from_);
    std::error_code ec;
    if (!profile_.empty()) std::filesystem::remove_all(profile_, ec);
  }

  DevTools(const DevTools&) = delete;
  DevTools& operator=(const DevTools&) = delete;

  // Sends one command (to the page's session unless told otherwise) and returns
  // its result; on an error reply or a timeout, an empty object and last_error().
  json call(const std::string& method, json params = json::object(), bool to_page = true) {
    last_error_.clear();
    json msg = {{"id", next_id_}, {"method", method}, {"params", std::move(params)}};
    if (to_page) msg["sessionId"] = session_;
    const int id = next_id_++;
    std::string text = msg.dump();
    text.push_back('\0');
    for (std::size_t off = 0; off < text.size();) {
      ssize_t n = ::write(to_, text.data() + off, text.size() - off);
      if (n <= 0) {
        last_error_ = method + ": write to the browser failed";
        return json::object();
      }
      off += static_cast<std::size_t>(n);
    }
    auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      auto m = next_message(deadline);
      if (!m) {
        last_error_ = method + ": no reply from the browser within 30 s";
        return json::object();
      }
      if (m->contains("id") && (*m)["id"] == id) {
        if (m->contains("error")) {
          last_error_ = method + ": " + (*m)["error"].dump();
          return json::object();
        }
        return m->value("result", json::object());
      }
      note_event(*m);
    }
  }

  // Evaluates a JavaScript expression in the page and returns its value.
  json evaluate(const std::string& expression) {
    json r = call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}, {"awaitPromise", true}});
    if (r.contains("exceptionDetails")) {
      last_error_ = "exception in page: " + r["exceptionDetails"].dump();
      return nullptr;
    }
    return r.contains("result") ? r["result"].value("value", json()) : json();
  }

  // Navigates and waits until the page has loaded and its scripts have run.
  bool open(const std::string& url) {
    call("Page.navigate", {{"url", url}});
    if (!last_error_.empty()) return false;
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < deadline) {
      json state = evaluate("document.readyState === 'complete' && location.href");
      if (state.is_string() && state.get<std::string>() == url) return true;
      ::usleep(50000);
    }
    last_error_ = "the page did not finish loading within 30 s";
    return false;
  }

  // A real mouse click (press and release of the left button) at viewport coordinates.
  void click(double x, double y) {
    for (const char* type : {"mouseMoved", "mousePressed", "mouseReleased"})
      call("Input.dispatchMouseEvent",
           {{"type", type}, {"x", x}, {"y", y}, {"button", "left"}, {"buttons", 1}, {"clickCount", 1}});
  }

  // Console messages and uncaught exceptions the page produced so far.
  const std::vector<std::string>& console() const { return console_; }
  const std::string& last_error() const { return last_error_; }

 private:
  DevTools() = default;

  static std::unique_ptr<DevTools> fail(std::string* error, const std::string& why) {
    if (error) *error = why;
    return nullptr;
  }

  std::optional<json> next_message(Clock::time_point deadline) {
    for (;;) {
      auto nul = buf_.find('\0');
      if (nul != std::string::npos) {
        std::string text = buf_.substr(0, nul);
        buf_.erase(0, nul + 1);
        json m = json::parse(text, nullptr, false);
        if (!m.is_discarded()) return m;
        continue;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return std::nullopt;
      pollfd p{from_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return std::nullopt;
      char chunk[65536];
      ssize_t n = ::read(from_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void note_event(const json& m) {
    const std::string method = m.value("method", "");
    if (method == "Runtime.consoleAPICalled" || method == "Runtime.exceptionThrown")
      console_.push_back(m.value("params", json::object()).dump());
  }

  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  int next_id_ = 1;
  std::string buf_;
  std::string session_;
  std::string profile_;
  std::string last_error_;
  std::vector<std::string> console_;
};

}  // namespace pmtest
