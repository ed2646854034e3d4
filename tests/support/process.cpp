#include "process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace lb::test {

temp_dir::temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "livebridge-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  if (std::getenv("LIVEBRIDGE_KEEP_TEST_FILES") == nullptr) std::filesystem::remove_all(path_, ec);
}

void temp_dir::write(const std::string& name, const std::string& content, int mode) const {
  const std::string p = file(name);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  ::chmod(p.c_str(), mode);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

process::process(std::vector<std::string> argv, std::string log_file, std::map<std::string, std::string> env)
    : log_file_(std::move(log_file)) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    if (!env.contains(name)) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : env) {
    if (!v.empty()) env_strings.push_back(k + "=" + v);  // an empty value removes the variable
  }
  std::vector<char*> c_argv;
  for (auto& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  std::vector<char*> c_env;
  for (auto& e : env_strings) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    const int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, STDIN_FILENO);
    ::close_range(3, ~0U, 0);  // the test's own sockets (its MQTT peers) stay with the test
    ::execvpe(c_argv[0], c_argv.data(), c_env.data());
    std::fprintf(stderr, "exec %s failed: %s\n", c_argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);
}

process::~process() {
  if (!exit_code_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void process::signal(int signo) const {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, signo);
}

std::optional<int> process::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      ::kill(-pid_, SIGKILL);  // anything the child left in its group
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool process::running() {
  return !wait(std::chrono::milliseconds(0)).has_value();
}

std::string process::log() const {
  return read_file(log_file_);
}

std::size_t process::log_count(const std::string& text) const {
  const std::string all = log();
  std::size_t n = 0;
  for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size())) ++n;
  return n;
}

bool process::wait_for_log(const std::string& text, std::chrono::milliseconds timeout,
                           std::size_t times) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (log_count(text) >= times) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return log_count(text) >= times;
}

int run(const std::vector<std::string>& argv, const std::string& log_file) {
  process p(argv, log_file);
  return p.wait(std::chrono::seconds(60)).value_or(-1);
}

mosquitto_broker::mosquitto_broker(const temp_dir& dir, std::string access)
    : dir_(dir), access_(std::move(access)), port_(free_port()) {
  start();
}

void mosquitto_broker::start() {
  // Started as root, mosquitto would change to the user "mosquitto" and then fail to read the
  // test's private files (a password file, an access list); as the test's own user it stays.
  const passwd* self = ::getpwuid(::geteuid());
  const std::string user = self != nullptr ? std::string("user ") + self->pw_name + "\n" : std::string();
  dir_.write("mosquitto.conf", "listener " + std::to_string(port_) + " 127.0.0.1\n" + user + access_ +
                                   "persistence false\nset_tcp_nodelay true\n"
                                   "log_dest stdout\n"
                                   "log_type error\nlog_type warning\nlog_type notice\n");
  proc_.emplace(std::vector<std::string>{"mosquitto", "-c", dir_.file("mosquitto.conf")},
                dir_.file("mosquitto.log"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!port_accepts(port_)) {
    if (std::chrono::steady_clock::now() > deadline || !proc_->running()) {
      throw std::runtime_error("mosquitto did not start: " + proc_->log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void mosquitto_broker::stop() {
  proc_.reset();
}

test_pki::test_pki(const temp_dir& dir) {
  ca_cert = dir.file("ca.crt");
  server_cert = dir.file("server.crt");
  server_key = dir.file("server.key");
  other_ca_cert = dir.file("other-ca.crt");
  const std::string log = dir.file("openssl.log");
  dir.write("san.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  const std::vector<std::vector<std::string>> steps = {
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days",
       "2", "-subj", "/CN=livebridge test CA", "-keyout", dir.file("ca.key"), "-out", ca_cert},
      {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
       "/CN=127.0.0.1", "-keyout", server_key, "-out", dir.file("server.csr")},
      {"openssl", "x509", "-req", "-in", dir.file("server.csr"), "-CA", ca_cert, "-CAkey", dir.file("ca.key"),
       "-CAcreateserial", "-days", "2", "-extfile", dir.file("san.ext"), "-out", server_cert},
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days",
       "2", "-subj", "/CN=unrelated CA", "-keyout", dir.file("other-ca.key"), "-out", other_ca_cert},
  };
  for (const auto& step : steps) {
    if (run(step, log) != 0) throw std::runtime_error("openssl failed: " + read_file(log));
  }
}

}  // namespace lb::test
