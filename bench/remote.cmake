# Registry benchmark (bench/registry_bench.cpp); included from bench/CMakeLists.txt.
add_executable(registry_bench ${CMAKE_CURRENT_LIST_DIR}/registry_bench.cpp)
target_link_libraries(registry_bench PRIVATE stasis_remote stasis_test_support)
target_include_directories(registry_bench PRIVATE ${PROJECT_SOURCE_DIR})
stasis_set_warnings(registry_bench)
