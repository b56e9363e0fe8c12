# Lazy restore / streaming checkpoint benchmark (bench/lazy_bench.cpp).
add_executable(lazy_bench ${CMAKE_CURRENT_LIST_DIR}/lazy_bench.cpp)
target_link_libraries(lazy_bench PRIVATE stasis_store stasis_engine stasis_remote
                      stasis_test_support)
stasis_set_warnings(lazy_bench)
