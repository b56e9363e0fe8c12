# Every third-party library comes from Debian's packages (scripts/setup.sh).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(Protobuf REQUIRED)
find_package(sdbus-c++ REQUIRED)
find_package(sdbus-c++-tools REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 CONFIG QUIET)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
pkg_check_modules(LIBCAP REQUIRED IMPORTED_TARGET libcap)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
# RE2 (Debian libre2-dev): the patterns of policies, matched in linear time.
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)

if(NOT TARGET CLI11::CLI11)
  find_path(CLI11_INCLUDE_DIR CLI/CLI.hpp REQUIRED)
  add_library(CLI11::CLI11 INTERFACE IMPORTED)
  target_include_directories(CLI11::CLI11 INTERFACE ${CLI11_INCLUDE_DIR})
endif()

if(STASIS_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()

# Howard Hinnant's date/tz (Debian libhowardhinnant-date-dev): time zones from
# the system tz database (/usr/share/zoneinfo, package tzdata).
find_package(date CONFIG REQUIRED)
