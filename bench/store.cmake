# Store benchmark (bench/store_bench.cpp); included from bench/CMakeLists.txt.
add_executable(store_bench ${CMAKE_CURRENT_LIST_DIR}/store_bench.cpp)
target_link_libraries(store_bench PRIVATE stasis_store stasis_test_support)
stasis_set_warnings(store_bench)

add_executable(store_scale_bench ${CMAKE_CURRENT_LIST_DIR}/store_scale_bench.cpp)
target_link_libraries(store_scale_bench PRIVATE stasis_store)
target_include_directories(store_scale_bench PRIVATE ${PROJECT_SOURCE_DIR})
stasis_set_warnings(store_scale_bench)
