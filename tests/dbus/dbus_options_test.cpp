// a{sv} options are checked strictly at the boundary: unknown keys and wrong
// types are InvalidArgument errors naming the key and the expected type.
#include "dbus/errors.hpp"
#include "dbus/names.hpp"
#include "dbus/variant_options.hpp"
#include "tests/dbus/service_fixture.hpp"

namespace stasis::test {
namespace {

using namespace manager;
using dbus::VariantMap;
using AnOptionsDictionary = ServiceFixture;

// Calls a method with raw arguments; returns the error or "" on success.
template <typename... Args>
sdbus::Error call_error(sdbus::IProxy& proxy, const std::string& method, Args... args) {
  try {
    std::string run;
    proxy.callMethod(method)
        .onInterface(dbus::k_interface)
        .withArguments(args...)
        .storeResultsTo(run);
  } catch (const sdbus::Error& error) {
    return error;
  }
  return sdbus::Error("", "");
}

TEST_F(AnOptionsDictionary, WithAnUnknownKeyIsAnInvalidArgumentNamingIt) {
  const auto error = call_error(*m_raw, "Checkpoint", std::string("web"),
                                VariantMap{{"LeaveRuning", sdbus::Variant(true)}});
  EXPECT_EQ(error.getName(), "io.stasis.Stasis1.Error.InvalidArgument");
  EXPECT_NE(error.getMessage().find("unknown option LeaveRuning for Checkpoint"),
            std::string::npos)
      << error.getMessage();
  EXPECT_NE(error.getMessage().find("LeaveRunning"), std::string::npos);
  EXPECT_EQ(m_manager.last().method, "") << "the manager must not be called";
}

TEST_F(AnOptionsDictionary, WithAWrongTypeNamesTheKeyAndTheExpectedType) {
  const auto error = call_error(*m_raw, "Restore", std::string("web"), std::string(""),
                                VariantMap{{"Lazy", sdbus::Variant(std::string("yes"))}});
  EXPECT_EQ(error.getName(), "io.stasis.Stasis1.Error.InvalidArgument");
  EXPECT_NE(
      error.getMessage().find("option Lazy of Restore must be a boolean (D-Bus type b)"),
      std::string::npos)
      << error.getMessage();
  EXPECT_NE(error.getMessage().find("'s'"), std::string::npos);
}

TEST_F(AnOptionsDictionary, CarriesTcpCloseOfOneRestoreToTheManager) {
  const auto error = call_error(*m_raw, "Restore", std::string("web"), std::string(""),
                                VariantMap{{"TcpClose", sdbus::Variant(true)}});
  EXPECT_EQ(error.getName(), "") << error.getMessage();
  EXPECT_EQ(m_manager.last().method, "restore");
  EXPECT_EQ(m_manager.last().restore_options.tcp_close, std::optional<bool>(true));
}

TEST_F(AnOptionsDictionary, CarriesAPushsCredentialsAndCasToTheManager) {
  const auto error = call_error(
      *m_raw, "Push", std::string("web"), std::string("3"),
      std::string("registry.example.com/fleet/web"),
      VariantMap{{"Username", sdbus::Variant(std::string("ops"))},
                 {"Password", sdbus::Variant(std::string("s3cret"))},
                 {"CaPem", sdbus::Variant(std::string("-----BEGIN CERTIFICATE-----"))},
                 {"PlainHttp", sdbus::Variant(true)},
                 {"Origin", sdbus::Variant(std::string("host_a"))}});
  EXPECT_EQ(error.getName(), "") << error.getMessage();
  const auto last = m_manager.last();
  EXPECT_EQ(last.method, "push");
  EXPECT_EQ(last.reference, "registry.example.com/fleet/web");
  EXPECT_EQ(last.remote_options.username, "ops");
  EXPECT_EQ(last.remote_options.password, "s3cret");
  EXPECT_EQ(last.remote_options.ca_pem, "-----BEGIN CERTIFICATE-----");
  EXPECT_TRUE(last.remote_options.plain_http);
  EXPECT_EQ(last.remote_options.origin, "host_a");
}

TEST_F(AnOptionsDictionary, CarriesARestoreFromARegistryWithItsCredentials) {
  const auto error = call_error(
      *m_raw, "Restore", std::string("web"), std::string(""),
      VariantMap{
          {"Lazy", sdbus::Variant(true)},
          {"From", sdbus::Variant(std::string("registry.example.com/f/w:w-latest"))},
          {"Username", sdbus::Variant(std::string("ops"))},
          {"Password", sdbus::Variant(std::string("s3cret"))},
          {"PlainHttp", sdbus::Variant(true)}});
  EXPECT_EQ(error.getName(), "") << error.getMessage();
  const auto last = m_manager.last();
  EXPECT_EQ(last.method, "restore");
  EXPECT_EQ(last.restore_options.lazy, std::optional<bool>(true));
  EXPECT_EQ(last.restore_options.from, "registry.example.com/f/w:w-latest");
  EXPECT_EQ(last.restore_options.remote.username, "ops");
  EXPECT_EQ(last.restore_options.remote.password, "s3cret");
  EXPECT_TRUE(last.restore_options.remote.plain_http);
}

TEST_F(AnOptionsDictionary, OfARestoreRefusesRegistryOptionsWithoutFromAndAnOrigin) {
  auto error = call_error(*m_raw, "Restore", std::string("web"), std::string(""),
                          VariantMap{{"Username", sdbus::Variant(std::string("ops"))}});
  EXPECT_EQ(error.getName(), "io.stasis.Stasis1.Error.InvalidArgument");
  EXPECT_NE(error.getMessage().find("go with From"), std::string::npos)
      << error.getMessage();
  error = call_error(*m_raw, "Restore", std::string("web"), std::string(""),
                     VariantMap{{"From", sdbus::Variant(std::string("h.example/r:t"))},
                                {"Origin", sdbus::Variant(std::string("a"))}});
  EXPECT_EQ(error.getName(), "io.stasis.Stasis1.Error.InvalidArgument");
  error = call_error(*m_raw, "Restore", std::string("web"), std::string(""),
                     VariantMap{{"From", sdbus::Variant(true)}});
  EXPECT_NE(error.getMessage().find("option From of Restore must be a string"),
            std::string::npos)
      << error.getMessage();
  EXPECT_EQ(m_manager.last().method, "") << "the manager must not be called";
}

TEST(AnOptionsParser, RoundTripsARestoreFromARegistry) {
  RestoreOptions sent;
  sent.lazy = true;
  sent.from = "h.example/r:t";
  sent.remote.username = "u";
  sent.remote.password = "p";
  sent.remote.ca_pem = "pem";
  auto parsed = dbus::restore_options_from(dbus::to_variant_map(sent));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->from, sent.from);
  EXPECT_EQ(parsed->remote.username, "u");
  EXPECT_EQ(parsed->remote.password, "p");
  EXPECT_EQ(parsed->remote.ca_pem, "pem");
  EXPECT_FALSE(parsed->remote.plain_http);
}

TEST_F(AnOptionsDictionary, OfAPullRefusesAnOriginAndWrongTypes) {
  auto error = call_error(*m_raw, "Pull", std::string("localhost/web:web-latest"),
                          std::string("web"),
                          VariantMap{{"Origin", sdbus::Variant(std::string("a"))}});
  EXPECT_EQ(error.getName(), "io.stasis.Stasis1.Error.InvalidArgument");
  EXPECT_NE(error.getMessage().find("unknown option Origin for Pull"), std::string::npos)
      << error.getMessage();
  error = call_error(*m_raw, "Pull", std::string("localhost/web:web-latest"),
                     std::string("web"), VariantMap{{"Password", sdbus::Variant(true)}});
  EXPECT_NE(error.getMessage().find("option Password of Pull must be a string"),
            std::string::npos)
      << error.getMessage();
  EXPECT_EQ(m_manager.last().method, "") << "the manager must not be called";
}

TEST_F(AnOptionsDictionary, ForAJobCheckpointRefusesCriuKnobsThePolicyDecides) {
  for (const char* key : {"ShellJob", "FileLocks", "TcpEstablished", "ExtUnixSk"}) {
    const auto error = call_error(*m_raw, "Checkpoint", std::string("web"),
                                  VariantMap{{key, sdbus::Variant(true)}});
    EXPECT_EQ(error.getName(), "io.stasis.Stasis1.Error.InvalidArgument") << key;
    EXPECT_NE(error.getMessage().find(std::string("option ") + key +
                                      " is not accepted by Checkpoint: a job's policy "
                                      "decides it"),
              std::string::npos)
        << error.getMessage();
  }
}

TEST_F(AnOptionsDictionary, ForAnAdHocCheckpointAcceptsTheCriuKnobs) {
  const auto error = call_error(*m_raw, "CheckpointProcess", std::uint32_t{77},
                                VariantMap{{"ShellJob", sdbus::Variant(true)},
                                           {"FileLocks", sdbus::Variant(false)},
                                           {"TcpEstablished", sdbus::Variant(true)},
                                           {"ExtUnixSk", sdbus::Variant(true)},
                                           {"LeaveRunning", sdbus::Variant(false)}});
  EXPECT_FALSE(error.isValid()) << error.getMessage();
  const auto options = m_manager.last().checkpoint_options;
  EXPECT_EQ(options.shell_job, std::optional<bool>(true));
  EXPECT_EQ(options.file_locks, std::optional<bool>(false));
  EXPECT_EQ(options.tcp_established, std::optional<bool>(true));
  EXPECT_EQ(options.ext_unix_sk, std::optional<bool>(true));
  EXPECT_EQ(options.leave_running, std::optional<bool>(false));
}

TEST_F(AnOptionsDictionary, TakesStreamForBothCheckpointMethods) {
  auto error = call_error(*m_raw, "Checkpoint", std::string("web"),
                          VariantMap{{"Stream", sdbus::Variant(true)}});
  EXPECT_FALSE(error.isValid()) << error.getMessage();
  EXPECT_EQ(m_manager.last().checkpoint_options.stream, std::optional<bool>(true));
  error = call_error(*m_raw, "CheckpointProcess", std::uint32_t{77},
                     VariantMap{{"Stream", sdbus::Variant(false)}});
  EXPECT_FALSE(error.isValid()) << error.getMessage();
  EXPECT_EQ(m_manager.last().checkpoint_options.stream, std::optional<bool>(false));
}

TEST_F(AnOptionsDictionary, ForCheckpointProcessRejectsPidZero) {
  const auto error =
      call_error(*m_raw, "CheckpointProcess", std::uint32_t{0}, VariantMap{});
  EXPECT_EQ(error.getName(), "io.stasis.Stasis1.Error.InvalidArgument");
}

TEST(AnOptionsParser, LeavesUnsetOptionsUnset) {
  auto options =
      dbus::restore_options_from(VariantMap{{"Detached", sdbus::Variant(false)}});
  ASSERT_TRUE(options) << options.error().message;
  EXPECT_EQ(options->detached, std::optional<bool>(false));
  EXPECT_FALSE(options->lazy.has_value());
  EXPECT_FALSE(options->new_pid_namespace.has_value());
}

TEST(AnOptionsParser, RoundTripsTheClientsDictionary) {
  CheckpointOptions sent;
  sent.leave_running = true;
  sent.stream = true;
  sent.tcp_established = false;
  auto parsed = dbus::checkpoint_options_from(dbus::to_variant_map(sent),
                                              dbus::CheckpointMethod::CheckpointProcess);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->leave_running, sent.leave_running);
  EXPECT_EQ(parsed->stream, sent.stream);
  EXPECT_EQ(parsed->tcp_established, sent.tcp_established);
  EXPECT_FALSE(parsed->shell_job.has_value());
}

} // namespace
} // namespace stasis::test
