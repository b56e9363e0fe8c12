#include "tests/dbus/flags_support.hpp"

#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace stasis::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

void FlagsTest::install_example(const std::string& name,
                                const std::map<std::string, std::string>& rewrite) {
  const fs::path source =
      fs::path(STASIS_SOURCE_DIR) / "examples" / "flags" / (name + ".yaml");
  std::ifstream in(source);
  ASSERT_TRUE(in) << "cannot read " << source;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  for (const auto& [from, to] : rewrite) {
    ASSERT_NE(text.find(from), std::string::npos)
        << source << " does not mention " << from;
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at)) {
      text.replace(at, from.size(), to);
      at += to.size();
    }
  }
  const auto target = policy_dir() / (name + ".yaml");
  std::ofstream(target) << text;
  ::chmod(target.c_str(), 0644);
}

void FlagsTest::install_job(const std::string& file, const std::string& job_yaml) {
  write_policy(file, job_yaml);
}

NetnsScope::NetnsScope() : m_name("stasis-flags-tcp-" + std::to_string(::getpid())) {
  const auto added = run_command({"/usr/sbin/ip", "netns", "add", m_name}, 10s);
  if (added.exit_code != 0) {
    throw std::runtime_error("ip netns add " + m_name + " failed " + added.error);
  }
}

NetnsScope::~NetnsScope() {
  run_command({"/usr/sbin/ip", "netns", "del", m_name}, 10s);
}

manager::RunInfo FlagsTest::checkpoint(const std::string& job) {
  auto client = this->client();
  if (!client) {
    return {};
  }
  auto run = client->checkpoint(job, {});
  if (!run) {
    ADD_FAILURE() << "Checkpoint(" << job << ") refused: " << run.error().message;
    return {};
  }
  return wait_run(*client, *run, 60s);
}

manager::RunInfo FlagsTest::restore(const std::string& job) {
  auto client = this->client();
  if (!client) {
    return {};
  }
  auto run = client->restore(job, "", {});
  if (!run) {
    ADD_FAILURE() << "Restore(" << job << ") refused: " << run.error().message;
    return {};
  }
  return wait_run(*client, *run, 60s);
}

pid_t posix_lock_holder(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  const bool asked = ::fcntl(fd, F_GETLK, &lock) == 0;
  ::close(fd);
  return asked && lock.l_type != F_UNLCK ? lock.l_pid : 0;
}

} // namespace stasis::test
