#include "tests/support/registry.hpp"

#include "tests/support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fstream>
#include <netinet/in.h>
#include <optional>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace stasis::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void run(const std::vector<std::string>& argv, const std::string& what) {
  auto r = run_command(argv);
  if (r.exit_code != 0) {
    throw std::runtime_error("test registry: " + what + " failed (exit " +
                             std::to_string(r.exit_code) + ") " + r.error);
  }
}

bool port_answers(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

} // namespace

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("test registry: cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

TestRegistry::TestRegistry() : m_dir("stasis-registry") {
  m_port = free_port();
  configure();
  start();
}

TestRegistry::TestRegistry(const NetNamespace& netns, std::string address, int port)
    : m_dir("stasis-registry"), m_netns(&netns), m_address(std::move(address)),
      m_port(port) {
  configure();
  start();
}

void TestRegistry::configure() {
  if (::access(k_binary, X_OK) != 0) {
    throw std::runtime_error(
        std::string("test registry: ") + k_binary +
        " is not installed (scripts/setup.sh installs docker-registry)");
  }
  const auto d = m_dir.path();
  const std::string openssl = "/usr/bin/openssl";
  run({openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", (d / "ca.key").string(),
       "-out", (d / "ca.crt").string(), "-days", "2", "-subj", "/CN=stasis test CA"},
      "making the CA");
  run({openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-keyout", (d / "server.key").string(), "-out",
       (d / "server.csr").string(), "-subj", "/CN=" + m_address},
      "making the server key");
  {
    std::ofstream ext(d / "server.ext");
    ext << "subjectAltName=IP:" << m_address
        << "\nbasicConstraints=CA:FALSE\n"
           "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n";
  }
  run({openssl, "x509", "-req", "-in", (d / "server.csr").string(), "-CA",
       (d / "ca.crt").string(), "-CAkey", (d / "ca.key").string(), "-CAcreateserial",
       "-out", (d / "server.crt").string(), "-days", "2", "-extfile",
       (d / "server.ext").string()},
      "signing the server certificate");
  m_ca_pem = slurp(d / "ca.crt");
  // htpasswd -B prints "user:hash" on stdout; run_command sends stdout to
  // /dev/null, so a shell redirects it.
  run({"/bin/sh", "-c",
       std::string("/usr/bin/htpasswd -Bbn ") + k_user + " " + k_password + " > " +
           (d / "htpasswd").string()},
      "htpasswd");
  fs::create_directories(storage());
  {
    std::ofstream cfg(d / "config.yml");
    cfg << "version: 0.1\n"
        << "log:\n  level: info\n  accesslog:\n    disabled: true\n"
        << "storage:\n  filesystem:\n    rootdirectory: " << storage().string() << "\n"
        << "  delete:\n    enabled: true\n"
        << "http:\n  addr: " << m_address << ":" << m_port
        << "\n  secret: stasis-test-secret\n"
        << "  tls:\n    certificate: " << (d / "server.crt").string()
        << "\n    key: " << (d / "server.key").string() << "\n"
        << "auth:\n  htpasswd:\n    realm: stasis-test\n    path: "
        << (d / "htpasswd").string() << "\n";
  }
}

TestRegistry::~TestRegistry() {
  stop();
}

std::string TestRegistry::host() const {
  return m_address + ":" + std::to_string(m_port);
}

bool TestRegistry::answers() const {
  return m_netns != nullptr ? tcp_answers(*m_netns, m_address, m_port)
                            : port_answers(m_port);
}

void TestRegistry::start() {
  const auto d = m_dir.path();
  // In its namespace, when it has one: the child starts where this thread is.
  std::optional<InNetns> inside;
  if (m_netns != nullptr) {
    inside.emplace(*m_netns);
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    throw std::runtime_error("test registry: fork failed");
  }
  if (pid == 0) {
    int log = ::open((d / "registry.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execl(k_binary, k_binary, "serve", (d / "config.yml").c_str(), nullptr);
    ::_exit(127);
  }
  m_pid = pid;
  inside.reset();
  for (int i = 0; i < 300; ++i) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      m_pid = -1;
      throw std::runtime_error("test registry: docker-registry exited at start:\n" +
                               slurp(d / "registry.log"));
    }
    if (answers()) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop();
  throw std::runtime_error("test registry: docker-registry does not answer on port " +
                           std::to_string(m_port) + ":\n" + slurp(d / "registry.log"));
}

void TestRegistry::stop() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
    m_pid = -1;
  }
}

void TestRegistry::restart() {
  stop();
  start();
}

} // namespace stasis::test
