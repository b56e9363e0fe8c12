// Manager errors leave the daemon as io.stasis.Stasis1.Error.* with the
// manager's message, and the client sorts them into exit-code kinds.
#include "dbus/errors.hpp"
#include "dbus/names.hpp"
#include "tests/dbus/service_fixture.hpp"

namespace stasis::test {
namespace {

using namespace manager;
using AnErrorReply = ServiceFixture;

constexpr ErrorCode k_all_codes[] = {
    ErrorCode::NoSuchJob,    ErrorCode::NoSuchCheckpoint, ErrorCode::NoSuchRun,
    ErrorCode::AccessDenied, ErrorCode::InvalidPolicy,    ErrorCode::InvalidArgument,
    ErrorCode::Busy,         ErrorCode::EngineFailed,     ErrorCode::StoreFailed,
};

TEST(AnErrorName, IsDefinedForEveryCodeAndMapsBack) {
  const char* expected[] = {"NoSuchJob",    "NoSuchCheckpoint", "NoSuchRun",
                            "AccessDenied", "InvalidPolicy",    "InvalidArgument",
                            "Busy",         "EngineFailed",     "StoreFailed"};
  for (std::size_t i = 0; i < std::size(k_all_codes); ++i) {
    const auto name = dbus::error_name(k_all_codes[i]);
    EXPECT_EQ(name, std::string("io.stasis.Stasis1.Error.") + expected[i]);
    EXPECT_EQ(dbus::error_code(name), k_all_codes[i]);
  }
}

TEST(AnErrorName, OfAnotherServiceHasNoCode) {
  EXPECT_FALSE(dbus::error_code("org.freedesktop.DBus.Error.AccessDenied").has_value());
  EXPECT_FALSE(dbus::error_code("io.stasis.Stasis1.Error.Nope").has_value());
}

TEST_F(AnErrorReply, CarriesTheDBusNameOfEachCodeAndTheMessage) {
  for (const auto code : k_all_codes) {
    m_manager.error = ManagerError{code, "because of reasons"};
    try {
      std::string run;
      m_raw->callMethod("Checkpoint")
          .onInterface(dbus::k_interface)
          .withArguments(std::string("web"), dbus::VariantMap{})
          .storeResultsTo(run);
      ADD_FAILURE() << "no error for " << dbus::error_name(code);
    } catch (const sdbus::Error& error) {
      EXPECT_EQ(error.getName(), dbus::error_name(code));
      EXPECT_EQ(error.getMessage(), "because of reasons");
    }
  }
}

TEST_F(AnErrorReply, BecomesAClientErrorOfTheRightKind) {
  const std::pair<ErrorCode, dbus::ClientErrorKind> cases[] = {
      {ErrorCode::NoSuchJob, dbus::ClientErrorKind::NotFound},
      {ErrorCode::NoSuchRun, dbus::ClientErrorKind::NotFound},
      {ErrorCode::AccessDenied, dbus::ClientErrorKind::AccessDenied},
      {ErrorCode::InvalidArgument, dbus::ClientErrorKind::InvalidArgument},
      {ErrorCode::EngineFailed, dbus::ClientErrorKind::Failed},
  };
  for (const auto& [code, kind] : cases) {
    m_manager.error = ManagerError{code, "no"};
    auto jobs = m_client->list_jobs();
    ASSERT_FALSE(jobs);
    EXPECT_EQ(jobs.error().kind, kind) << dbus::error_name(code);
    EXPECT_EQ(jobs.error().name, dbus::error_name(code));
    EXPECT_EQ(jobs.error().message, "no");
  }
}

TEST_F(AnErrorReply, ForAVoidMethodReachesTheClient) {
  m_manager.error = ManagerError{ErrorCode::NoSuchCheckpoint, "no checkpoint ckpt-9"};
  auto deleted = m_client->delete_checkpoint("web", "ckpt-9");
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().kind, dbus::ClientErrorKind::NotFound);
  EXPECT_EQ(deleted.error().message, "no checkpoint ckpt-9");
}

TEST(AClient, WithoutADaemonOnTheBusReportsItUnreachable) {
  PrivateBus bus;
  auto client = dbus::Client::connect(bus.address());
  ASSERT_TRUE(client) << client.error().message;
  auto jobs = (*client)->list_jobs();
  ASSERT_FALSE(jobs);
  EXPECT_EQ(jobs.error().kind, dbus::ClientErrorKind::Unreachable) << jobs.error().name;
}

TEST(AClient, WithoutABusReportsItUnreachable) {
  auto client = dbus::Client::connect("unix:path=/nonexistent/stasis-test-bus");
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().kind, dbus::ClientErrorKind::Unreachable);
  EXPECT_NE(client.error().message.find("/nonexistent/stasis-test-bus"),
            std::string::npos)
      << client.error().message;
}

TEST(AClient, RejectsABusThatIsNeitherAKeywordNorAnAddress) {
  auto client = dbus::Client::connect("sytsem");
  ASSERT_FALSE(client);
  EXPECT_NE(client.error().message.find("'sytsem' is not a bus"), std::string::npos);
}

} // namespace
} // namespace stasis::test
