// Running real programs from tests: the livebridge binary, mosquitto, openssl. Each child gets
// its own process group and is killed with it when the handle goes away, so no test leaves
// strays behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lb::test {

// A directory removed with everything in it when the object goes away.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& content, int mode = 0600) const;

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
std::uint16_t free_port();
bool port_accepts(std::uint16_t port);

class process {
 public:
  // stdout and stderr go to `log_file`. `env` is added to the test's own environment.
  process(std::vector<std::string> argv, std::string log_file, std::map<std::string, std::string> env = {});
  ~process();
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signo) const;
  // Waits for the exit; the exit code (128+signal for a signal), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  std::string log() const;
  // How often `text` occurs in the log so far.
  std::size_t log_count(const std::string& text) const;
  // Waits until the log contains `text` (at least `times` times).
  bool wait_for_log(const std::string& text, std::chrono::milliseconds timeout, std::size_t times = 1) const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_file_;
};

// Runs a command to completion; returns its exit code.
int run(const std::vector<std::string>& argv, const std::string& log_file = "/dev/null");

// A private mosquitto on a free loopback port. `access`: the config lines that decide who may
// connect and use which topic; anyone may, everything, by default. For example
// "allow_anonymous false\npassword_file …\nacl_file …\n", or a plugin's lines.
class mosquitto_broker {
 public:
  explicit mosquitto_broker(const temp_dir& dir, std::string access = "allow_anonymous true\n");
  std::uint16_t port() const { return port_; }
  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "mqtt://127.0.0.1:" + std::to_string(port_); }
  void stop();
  void start();
  // SIGSTOP makes a hung broker: connections stay open and nothing is answered. SIGCONT resumes.
  void signal(int signo) const { proc_->signal(signo); }

 private:
  const temp_dir& dir_;
  std::string access_;
  std::uint16_t port_;
  std::optional<process> proc_;
};

// A throwaway CA and a server certificate for 127.0.0.1 / localhost, made with openssl.
struct test_pki {
  explicit test_pki(const temp_dir& dir);
  std::string ca_cert, server_cert, server_key;
  std::string other_ca_cert;  // a CA that did not sign the server: verification must fail
};

}  // namespace lb::test
