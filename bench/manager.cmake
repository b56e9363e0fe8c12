# Manager benchmarks; included from bench/CMakeLists.txt.
add_executable(stasis_manager_idle_bench ${CMAKE_CURRENT_LIST_DIR}/manager_idle_bench.cpp)
target_link_libraries(stasis_manager_idle_bench PRIVATE stasis_manager)
stasis_set_warnings(stasis_manager_idle_bench)
