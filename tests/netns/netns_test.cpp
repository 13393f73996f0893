// The namespace helpers themselves: creation, veth links, sockets inside, removal.
#include "portmatrix/netns.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/testing.hpp"

using namespace portmatrix;

namespace {
bool ns_exists(const std::string& name) {
  struct stat st {};
  return ::stat(("/run/netns/" + name).c_str(), &st) == 0;
}
}  // namespace

TEST(Netns, CreateLinkConnectRemove) {
  PM_REQUIRE_ROOT();
  std::string name_a, name_b;
  {
    auto a = netns::Namespace::create(netns::unique_name("a"));
    ASSERT_TRUE(a) << a.error().message;
    auto b = netns::Namespace::create(netns::unique_name("b"));
    ASSERT_TRUE(b) << b.error().message;
    name_a = a->name();
    name_b = b->name();
    EXPECT_TRUE(ns_exists(name_a));
    ASSERT_FALSE(netns::add_veth(*a, "pma0", *b, "pmb0"));
    ASSERT_FALSE(a->add_address("pma0", Prefix{*parse_ip("192.0.2.1"), 24}));
    ASSERT_FALSE(b->add_address("pmb0", Prefix{*parse_ip("192.0.2.2"), 24}));

    auto ls = b->socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_TRUE(ls);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(2222);
    inet_pton(AF_INET, "192.0.2.2", &sa.sin_addr);
    ASSERT_EQ(::bind(*ls, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(*ls, 4), 0);

    auto cs = a->socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_TRUE(cs);
    EXPECT_EQ(::connect(*cs, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    // The same address is unreachable from the test's own namespace.
    int own = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{0, 200000};
    ::setsockopt(own, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    EXPECT_NE(::connect(own, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ::close(own);
    ::close(*cs);
    ::close(*ls);

    auto r = a->run({"ip", "-o", "addr", "show", "dev", "pma0"});
    ASSERT_TRUE(r);
    EXPECT_NE(r->out.find("192.0.2.1/24"), std::string::npos);
  }
  EXPECT_FALSE(ns_exists(name_a));
  EXPECT_FALSE(ns_exists(name_b));
}

TEST(Netns, ChildProcessesAreStopped) {
  PM_REQUIRE_ROOT();
  auto a = netns::Namespace::create(netns::unique_name("c"));
  ASSERT_TRUE(a);
  pid_t pid;
  {
    auto c = a->spawn({"sleep", "30"});
    ASSERT_TRUE(c);
    pid = c->pid();
    EXPECT_TRUE(c->running());
  }
  EXPECT_NE(::kill(pid, 0), 0);
}
