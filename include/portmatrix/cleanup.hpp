// A process-wide record of resources to release if the process is interrupted:
// child processes to kill and network namespaces to unmount. The signal handler
// only uses async-signal-safe calls.
#pragma once
#include <sys/types.h>

#include <string_view>

namespace portmatrix::cleanup {

void add_pid(pid_t pid);
void remove_pid(pid_t pid);
void add_netns(std::string_view name);
void remove_netns(std::string_view name);
// Kills registered children and removes registered namespaces (signal-safe).
void run_all() noexcept;
// Installs handlers for SIGINT, SIGTERM and SIGHUP that call run_all() and then
// let the signal end the process. Idempotent.
void install_handlers();

}  // namespace portmatrix::cleanup
