# Store benchmark (bench/store_bench.cpp); included from bench/CMakeLists.txt.
add_executable(store_bench ${CMAKE_CURRENT_LIST_DIR}/store_bench.cpp)
target_link_libraries(store_bench PRIVATE stasis_store stasis_test_support)
stasis_set_warnings(store_bench)
