# Daemon benchmarks (stasisd at scale); included from bench/CMakeLists.txt.
if(TARGET stasisd)
  add_executable(stasis_daemon_bench ${CMAKE_CURRENT_LIST_DIR}/daemon_bench.cpp
                                     ${PROJECT_SOURCE_DIR}/tests/dbus/private_bus.cpp)
  target_include_directories(stasis_daemon_bench PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(stasis_daemon_bench PRIVATE stasis_dbus)
  target_compile_definitions(stasis_daemon_bench PRIVATE STASISD_PATH="$<TARGET_FILE:stasisd>")
  add_dependencies(stasis_daemon_bench stasisd)
  stasis_set_warnings(stasis_daemon_bench)
endif()
